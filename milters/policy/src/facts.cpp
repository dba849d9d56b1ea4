#include "postern/policy/facts.hpp"

#include "postern/core/strings.hpp"
#include "postern/mime/address.hpp"
#include "postern/mime/encoded_word.hpp"
#include "postern/mime/part.hpp"

namespace postern::policy {
namespace {

bool is_signature_type(const mime::ContentType& t) {
  return t.is("application", "pkcs7-signature") || t.is("application", "x-pkcs7-signature") ||
         t.is("application", "pgp-signature");
}

Priority read_priority(const mime::HeaderBlock& headers) {
  if (const auto* h = headers.find("X-Priority")) {
    const std::string v = h->value();
    if (!v.empty() && v[0] >= '1' && v[0] <= '5') {
      return v[0] <= '2' ? Priority::high : v[0] == '3' ? Priority::normal : Priority::low;
    }
  }
  if (const auto* h = headers.find("Importance")) {
    const std::string v = h->value();
    if (core::iequals(v, "high")) return Priority::high;
    if (core::iequals(v, "low")) return Priority::low;
  }
  return Priority::normal;
}

// Armour must start a line: a quoted fragment inside a sentence is not PGP.
bool has_armour(std::string_view text, std::string_view armour) {
  for (std::size_t at = text.find(armour); at != std::string_view::npos; at = text.find(armour, at + 1)) {
    if (at == 0 || text[at - 1] == '\n') return true;
  }
  return false;
}

const mime::Part* first_text_plain(const mime::Part& part) {
  if (part.children.empty()) {
    return part.content_type.is("text", "plain") ? &part : nullptr;
  }
  if (part.content_type.is("message")) {
    return nullptr;
  }
  for (const auto& child : part.children) {
    if (const auto* found = first_text_plain(child)) return found;
  }
  return nullptr;
}

void collect_attachments(std::string_view message, const mime::Part& part, bool is_root,
                         std::vector<Attachment>& out) {
  const bool embedded_message = part.content_type.is("message", "rfc822") || part.content_type.is("message", "global");
  if (!is_root && (part.children.empty() || embedded_message)) {
    std::string name = part.filename();
    if (embedded_message || !name.empty() || part.disposition.type == "attachment") {
      Attachment a;
      a.name = std::move(name);
      a.declared_type = core::ascii_lower(part.content_type.type + "/" + part.content_type.subtype);
      if (!embedded_message) {
        if (auto body = part.decoded_body(message)) a.sniffed_type = std::string(sniff_type(*body));
      }
      out.push_back(std::move(a));
    }
    return;
  }
  const bool is_signed = part.content_type.is("multipart", "signed");
  for (std::size_t i = 0; i < part.children.size(); ++i) {
    if (is_signed && i == 1 && is_signature_type(part.children[i].content_type)) {
      continue;
    }
    collect_attachments(message, part.children[i], false, out);
  }
}

// RFC 8601 CFWS comments, nested, with quoted-pairs; quoted strings kept.
std::string drop_comments(std::string_view v) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '\\' && i + 1 < v.size() && (depth > 0 || quoted)) {
      if (depth == 0) out.append(v.substr(i, 2));
      ++i;
    } else if (depth == 0 && c == '"') {
      quoted = !quoted;
      out += c;
    } else if (!quoted && c == '(') {
      ++depth;
      out += ' ';
    } else if (!quoted && c == ')' && depth > 0) {
      --depth;
    } else if (depth == 0) {
      out += (c == '\r' || c == '\n' || c == '\t') ? ' ' : c;
    }
  }
  return out;
}

}  // namespace

const char* to_string(Priority p) noexcept {
  switch (p) {
    case Priority::low: return "low";
    case Priority::normal: return "normal";
    case Priority::high: return "high";
  }
  return "normal";
}

const char* to_string(Protection p) noexcept {
  switch (p) {
    case Protection::none: return "none";
    case Protection::smime: return "smime";
    case Protection::pgp: return "pgp";
  }
  return "none";
}

MessageFacts MessageFacts::from_message(std::string_view message) {
  MessageFacts f;
  f.size = message.size();
  mime::Part root;
  try {
    root = mime::parse_message(message);
  } catch (const mime::LimitError&) {
    return f;  // too deep or too many parts: only the size is known
  }
  if (const auto* h = root.headers.find("Subject")) {
    f.subject = mime::decode_header_text(h->raw_value);
  }
  f.priority = read_priority(root.headers);
  if (const auto* h = root.headers.find("Sensitivity")) {
    f.sensitivity = core::ascii_lower(h->value());
  }

  const auto& type = root.content_type;
  if (type.is("multipart", "encrypted")) {
    const std::string* protocol = type.param("protocol");
    if (protocol != nullptr && core::iequals(*protocol, "application/pgp-encrypted")) {
      f.encrypted = Protection::pgp;
    }
  } else if (type.is("multipart", "signed")) {
    const std::string* protocol = type.param("protocol");
    if (protocol != nullptr) {
      if (core::iequals(*protocol, "application/pgp-signature")) {
        f.signature = Protection::pgp;
      } else if (core::iequals(*protocol, "application/pkcs7-signature") ||
                 core::iequals(*protocol, "application/x-pkcs7-signature")) {
        f.signature = Protection::smime;
      }
    }
  } else if (type.is("application", "pkcs7-mime") || type.is("application", "x-pkcs7-mime")) {
    const std::string* smime_type = type.param("smime-type");
    if (smime_type != nullptr && core::iequals(*smime_type, "signed-data")) {
      f.signature = Protection::smime;
    } else {
      f.encrypted = Protection::smime;
    }
  }
  if (f.encrypted == Protection::none && f.signature == Protection::none) {
    if (const auto* text = first_text_plain(root)) {
      if (auto body = text->decoded_body(message)) {
        if (has_armour(*body, "-----BEGIN PGP MESSAGE-----")) {
          f.encrypted = Protection::pgp;
        } else if (has_armour(*body, "-----BEGIN PGP SIGNED MESSAGE-----")) {
          f.signature = Protection::pgp;
        }
      }
    }
  }
  collect_attachments(message, root, true, f.attachments);
  for (const auto& a : f.attachments) f.attachment_names.push_back(a.name);
  for (const auto& field : root.headers.fields()) {
    if (core::iequals(field.name, "Authentication-Results")) {
      f.authentication_results.push_back(parse_authentication_results(field.raw_value));
    }
  }
  return f;
}

AuthResults parse_authentication_results(std::string_view value) {
  AuthResults out;
  const std::string text = drop_comments(value);
  std::size_t start = 0;
  bool first = true;
  while (start <= text.size()) {
    auto end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view segment = core::trim(std::string_view(text).substr(start, end - start));
    start = end + 1;
    if (first) {
      first = false;
      const auto space = segment.find(' ');
      out.authserv_id = core::ascii_lower(segment.substr(0, space));  // a version number may follow
      continue;
    }
    const auto space = segment.find(' ');
    const std::string_view head = segment.substr(0, space);
    const auto eq = head.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;  // "none" or junk
    std::string_view method = head.substr(0, eq);
    if (const auto slash = method.find('/'); slash != std::string_view::npos) method = method.substr(0, slash);
    out.results.push_back({core::ascii_lower(core::trim(method)), core::ascii_lower(head.substr(eq + 1)),
                           space == std::string_view::npos ? std::string() : std::string(core::trim(segment.substr(space)))});
  }
  return out;
}

std::string normalize_address(std::string_view path) {
  std::string_view bare = core::trim(path);
  if (bare.empty() || bare == "<>") {
    return {};
  }
  try {
    if (auto box = mime::parse_envelope_path(bare)) {
      return core::ascii_lower(box->local_part) + "@" + box->domain_ascii();
    }
    return {};
  } catch (const mime::AddressError&) {
    if (bare.size() >= 2 && bare.front() == '<' && bare.back() == '>') {
      bare = bare.substr(1, bare.size() - 2);
    }
    return core::ascii_lower(bare);
  }
}

}  // namespace postern::policy
