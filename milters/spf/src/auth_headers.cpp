#include "postern/spf_milter/auth_headers.hpp"

#include "postern/core/strings.hpp"

namespace postern::spf_milter {
namespace {

bool is_atext(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// Text for a comment: printable ASCII without ( ) \ so it cannot end early.
std::string comment_safe(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == '(' || c == ')' || c == '\\') {
      out += '?';
    } else {
      out += c;
    }
  }
  return out;
}

// An address as a pvalue: local@domain when the local part is a dot-atom.
std::string address_value(std::string_view address) {
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) {
    return quote_value(address);
  }
  const std::string local = quote_value(address.substr(0, at));
  return local + "@" + quote_value(address.substr(at + 1));
}

std::string received_comment(const AuthFacts& f, const spf::Outcome& o, const std::string& who) {
  const std::string ip = f.client.to_string();
  const std::string subject = comment_safe(who);
  switch (o.result) {
    case spf::Result::pass:
      return "domain of " + subject + " designates " + ip + " as permitted sender";
    case spf::Result::fail:
      return "domain of " + subject + " does not designate " + ip + " as permitted sender";
    case spf::Result::softfail:
      return "domain of transitioning " + subject + " does not designate " + ip + " as permitted sender";
    case spf::Result::neutral:
      return ip + " is neither permitted nor denied by domain of " + subject;
    case spf::Result::none:
      return "domain of " + subject + " does not designate permitted sender hosts";
    case spf::Result::temperror:
      return "temporary error checking domain of " + subject;
    case spf::Result::permerror:
      return "permanent error in the SPF record for " + subject;
  }
  return "";
}

bool is_error(const spf::Outcome& o) {
  return o.result == spf::Result::temperror || o.result == spf::Result::permerror;
}

}  // namespace

std::string quote_value(std::string_view value) {
  bool atom = !value.empty() && value.front() != '.' && value.back() != '.';
  for (std::size_t i = 0; atom && i < value.size(); ++i) {
    const char c = value[i];
    atom = is_atext(c) || (c == '.' && value[i + 1] != '.');
  }
  if (atom) {
    return std::string(value);
  }
  std::string out = "\"";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += '?';
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

std::string received_spf(const AuthFacts& f) {
  const bool null_path = f.envelope_from.empty();
  const spf::Outcome& o = *f.mailfrom;
  const std::string who = null_path ? "postmaster@" + f.helo : f.envelope_from;
  std::string v = " ";
  v += spf::to_string(o.result);
  v += " (" + comment_safe(f.authserv_id) + ": " + received_comment(f, o, who) + ")";
  v += "\n\treceiver=" + quote_value(f.authserv_id) + ";";
  v += " client-ip=" + f.client.to_string() + ";";
  v += " envelope-from=" + quote_value(null_path ? "" : f.envelope_from) + ";";
  v += "\n\thelo=" + quote_value(f.helo) + ";";
  v += std::string(" identity=") + (null_path ? "helo" : "mailfrom") + ";";
  if (is_error(o) && !o.problem.empty()) {
    v += " problem=" + quote_value(o.problem) + ";";
  }
  return v;
}

std::string authentication_results(const AuthFacts& f) {
  std::string v = " " + f.authserv_id + ";";
  bool any = false;
  const auto add = [&](std::string item, const spf::Outcome* o) {
    if (o != nullptr && is_error(*o) && !o->problem.empty()) {
      item += " reason=" + quote_value(o->problem);
    }
    v += (any ? ";\n\t" : "\n\t") + item;
    any = true;
  };
  if (f.mailfrom && !f.envelope_from.empty()) {
    add(std::string("spf=") + spf::to_string(f.mailfrom->result) + " smtp.mailfrom=" + address_value(f.envelope_from),
        &*f.mailfrom);
  }
  const spf::Outcome* helo = f.helo_check ? &*f.helo_check : (f.envelope_from.empty() && f.mailfrom ? &*f.mailfrom : nullptr);
  if (helo != nullptr && !f.helo.empty()) {
    add(std::string("spf=") + spf::to_string(helo->result) + " smtp.helo=" + quote_value(f.helo), helo);
  }
  if (f.senderid) {
    std::string item = std::string("senderid=") + spf::to_string(f.senderid->result);
    if (!f.pra_header.empty() && !f.pra_address.empty()) {
      item += " header." + core::ascii_lower(f.pra_header) + "=" + address_value(f.pra_address);
    }
    add(std::move(item), &*f.senderid);
  }
  if (!f.tls.version) {
    add("x-tls=none", nullptr);
  } else {
    add(std::string("x-tls=") + (f.tls_meets_policy.value_or(true) ? "pass" : "fail") +
            " policy.tls-version=" + quote_value(*f.tls.version) + " policy.cipher=" + quote_value(f.tls.cipher) +
            " policy.cipher-bits=" + std::to_string(f.tls.bits),
        nullptr);
  }
  if (!any) {
    v += " none";
  }
  return v;
}

bool is_ours(std::string_view value, std::string_view authserv_id) {
  value = core::trim(value);
  // authserv-id [CFWS] [version] ";" — compare the first token only.
  std::size_t end = 0;
  while (end < value.size() && value[end] != ';' && value[end] != ' ' && value[end] != '\t' && value[end] != '\n' &&
         value[end] != '\r' && value[end] != '(') {
    ++end;
  }
  return end > 0 && core::iequals(value.substr(0, end), authserv_id);
}

}  // namespace postern::spf_milter
