#include "postern/plan/plan.hpp"

#include <charconv>
#include <stdexcept>

#include "postern/core/strings.hpp"

namespace postern::plan {
namespace {

constexpr std::size_t kNonceHexDigits = 32;

bool is_hex_lower(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool valid_nonce(std::string_view nonce) noexcept {
  if (nonce.size() != kNonceHexDigits) {
    return false;
  }
  for (char c : nonce) {
    if (!is_hex_lower(c)) {
      return false;
    }
  }
  return true;
}

// Header field names are printable ASCII without ':' (RFC 5322 §3.6.8).
bool valid_header_name(std::string_view name) noexcept {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126 || c == ':') {
      return false;
    }
  }
  return true;
}

void escape_into(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 32 || u > 126 || c == '%') {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0f];
    } else {
      out += c;
    }
  }
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Only the exact form escape_into writes is accepted, so one plan has one
// encoding.
std::optional<std::string> unescape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto u = static_cast<unsigned char>(value[i]);
    if (u < 32 || u > 126) {
      return std::nullopt;
    }
    if (value[i] != '%') {
      out += value[i];
      continue;
    }
    if (i + 2 >= value.size()) {
      return std::nullopt;
    }
    const int hi = hex_value(value[i + 1]);
    const int lo = hex_value(value[i + 2]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    const auto byte = static_cast<unsigned char>((hi << 4) | lo);
    if (byte >= 32 && byte <= 126 && byte != '%') {
      return std::nullopt;
    }
    out += static_cast<char>(byte);
    i += 2;
  }
  return out;
}

void line(std::string& out, char key, std::string_view value) {
  out += key;
  out += '=';
  escape_into(out, value);
  out += '\n';
}

}  // namespace

const char* to_string(EncryptMethod m) noexcept {
  switch (m) {
    case EncryptMethod::none: return "none";
    case EncryptMethod::smime: return "smime";
    case EncryptMethod::pgp: return "pgp";
    case EncryptMethod::automatic: return "auto";
  }
  return "none";
}

const char* to_string(EncryptFallback f) noexcept {
  switch (f) {
    case EncryptFallback::bounce: return "bounce";
    case EncryptFallback::hold: return "hold";
    case EncryptFallback::incamail: return "incamail";
  }
  return "bounce";
}

const char* to_string(IncaMailType t) noexcept {
  switch (t) {
    case IncaMailType::none: return "none";
    case IncaMailType::confidential: return "c";
    case IncaMailType::personal: return "p";
    case IncaMailType::registered: return "r";
  }
  return "none";
}

std::optional<EncryptMethod> parse_encrypt_method(std::string_view s) noexcept {
  for (auto m : {EncryptMethod::none, EncryptMethod::smime, EncryptMethod::pgp, EncryptMethod::automatic}) {
    if (s == to_string(m)) return m;
  }
  return std::nullopt;
}

std::optional<EncryptFallback> parse_encrypt_fallback(std::string_view s) noexcept {
  for (auto f : {EncryptFallback::bounce, EncryptFallback::hold, EncryptFallback::incamail}) {
    if (s == to_string(f)) return f;
  }
  return std::nullopt;
}

std::optional<IncaMailType> parse_incamail_type(std::string_view s) noexcept {
  for (auto t : {IncaMailType::none, IncaMailType::confidential, IncaMailType::personal, IncaMailType::registered}) {
    if (s == to_string(t)) return t;
  }
  return std::nullopt;
}

const char* to_string(ContentCipher c) noexcept {
  switch (c) {
    case ContentCipher::automatic: return "auto";
    case ContentCipher::cbc: return "cbc";
    case ContentCipher::gcm: return "gcm";
  }
  return "auto";
}

const char* to_string(Revocation r) noexcept {
  switch (r) {
    case Revocation::inherit: return "inherit";
    case Revocation::off: return "off";
    case Revocation::soft_fail: return "soft";
    case Revocation::hard_fail: return "hard";
  }
  return "inherit";
}

const char* to_string(SendKeys k) noexcept {
  switch (k) {
    case SendKeys::none: return "none";
    case SendKeys::smime: return "smime";
    case SendKeys::pgp: return "pgp";
    case SendKeys::all: return "all";
  }
  return "none";
}

std::optional<ContentCipher> parse_content_cipher(std::string_view s) noexcept {
  for (auto c : {ContentCipher::automatic, ContentCipher::cbc, ContentCipher::gcm}) {
    if (s == to_string(c)) return c;
  }
  return std::nullopt;
}

std::optional<Revocation> parse_revocation(std::string_view s) noexcept {
  for (auto r : {Revocation::inherit, Revocation::off, Revocation::soft_fail, Revocation::hard_fail}) {
    if (s == to_string(r)) return r;
  }
  return std::nullopt;
}

std::optional<SendKeys> parse_send_keys(std::string_view s) noexcept {
  for (auto k : {SendKeys::none, SendKeys::smime, SendKeys::pgp, SendKeys::all}) {
    if (s == to_string(k)) return k;
  }
  return std::nullopt;
}

std::string encode_payload(const Plan& plan, const Stamp& stamp) {
  if (!valid_nonce(stamp.nonce)) {
    throw std::invalid_argument("plan nonce is not 32 hex digits");
  }
  if (plan.recipients.empty()) {
    throw std::invalid_argument("plan has no recipients");
  }
  std::string out;
  line(out, 't', std::to_string(stamp.time));
  line(out, 'n', stamp.nonce);
  for (const auto& r : plan.recipients) {
    if (r.empty()) {
      throw std::invalid_argument("plan has an empty recipient");
    }
    line(out, 'r', r);
  }
  if (plan.encrypt != EncryptMethod::none) {
    line(out, 'e', to_string(plan.encrypt));
    line(out, 'f', to_string(plan.fallback));
    if (plan.cipher != ContentCipher::automatic) line(out, 'c', to_string(plan.cipher));
  }
  if (plan.sign) line(out, 's', "1");
  if (plan.decrypt) line(out, 'd', "1");
  if (plan.verify) line(out, 'v', "1");
  if (plan.incamail != IncaMailType::none) line(out, 'i', to_string(plan.incamail));
  for (const auto& h : plan.add_headers) {
    if (!valid_header_name(h.name)) {
      throw std::invalid_argument("plan adds a header with an invalid name");
    }
    line(out, 'a', h.name + ":" + h.value);
  }
  for (const auto& name : plan.remove_headers) {
    if (!valid_header_name(name)) {
      throw std::invalid_argument("plan removes a header with an invalid name");
    }
    line(out, 'x', name);
  }
  if (!plan.subject_tag.empty()) line(out, 'g', plan.subject_tag);
  if (plan.revocation != Revocation::inherit) line(out, 'o', to_string(plan.revocation));
  if (plan.remove_signature && plan.verify) line(out, 'u', "1");
  if (!plan.security_tags.decrypted.empty()) line(out, 'D', plan.security_tags.decrypted);
  if (!plan.security_tags.signature_valid.empty()) line(out, 'S', plan.security_tags.signature_valid);
  if (!plan.security_tags.signature_invalid.empty()) line(out, 'B', plan.security_tags.signature_invalid);
  if (plan.send_keys != SendKeys::none) line(out, 'k', to_string(plan.send_keys));
  return out;
}

std::optional<StampedPlan> decode_payload(std::string_view payload) {
  if (payload.empty() || payload.back() != '\n') {
    return std::nullopt;
  }
  payload.remove_suffix(1);
  StampedPlan sp;
  std::string seen_single;  // keys that may appear once
  bool has_fallback = false;
  for (std::string_view raw : core::split(payload, '\n')) {
    if (raw.size() < 2 || raw[1] != '=') {
      return std::nullopt;
    }
    const char key = raw[0];
    auto value = unescape(raw.substr(2));
    if (!value) {
      return std::nullopt;
    }
    const bool repeatable = key == 'r' || key == 'a' || key == 'x';
    if (!repeatable) {
      if (seen_single.find(key) != std::string::npos) {
        return std::nullopt;
      }
      seen_single += key;
    }
    Plan& p = sp.plan;
    switch (key) {
      case 't': {
        const char* end = value->data() + value->size();
        auto [ptr, ec] = std::from_chars(value->data(), end, sp.stamp.time);
        if (ec != std::errc() || ptr != end || value->empty() || sp.stamp.time < 0 || (*value)[0] == '+') {
          return std::nullopt;
        }
        if (value->size() > 1 && (*value)[0] == '0') {
          return std::nullopt;
        }
        break;
      }
      case 'n':
        if (!valid_nonce(*value)) return std::nullopt;
        sp.stamp.nonce = std::move(*value);
        break;
      case 'r':
        if (value->empty()) return std::nullopt;
        p.recipients.push_back(std::move(*value));
        break;
      case 'e': {
        auto m = parse_encrypt_method(*value);
        if (!m || *m == EncryptMethod::none) return std::nullopt;
        p.encrypt = *m;
        break;
      }
      case 'f': {
        auto f = parse_encrypt_fallback(*value);
        if (!f) return std::nullopt;
        p.fallback = *f;
        has_fallback = true;
        break;
      }
      case 's':
      case 'd':
      case 'v':
        if (*value != "1") return std::nullopt;
        (key == 's' ? p.sign : key == 'd' ? p.decrypt : p.verify) = true;
        break;
      case 'i': {
        auto t = parse_incamail_type(*value);
        if (!t || *t == IncaMailType::none) return std::nullopt;
        p.incamail = *t;
        break;
      }
      case 'a': {
        const auto colon = value->find(':');
        if (colon == std::string::npos || !valid_header_name(std::string_view(*value).substr(0, colon))) {
          return std::nullopt;
        }
        p.add_headers.push_back({value->substr(0, colon), value->substr(colon + 1)});
        break;
      }
      case 'x':
        if (!valid_header_name(*value)) return std::nullopt;
        p.remove_headers.push_back(std::move(*value));
        break;
      case 'g':
        if (value->empty()) return std::nullopt;
        p.subject_tag = std::move(*value);
        break;
      case 'c': {
        auto c = parse_content_cipher(*value);
        if (!c || *c == ContentCipher::automatic) return std::nullopt;
        p.cipher = *c;
        break;
      }
      case 'o': {
        auto r = parse_revocation(*value);
        if (!r || *r == Revocation::inherit) return std::nullopt;
        p.revocation = *r;
        break;
      }
      case 'u':
        if (*value != "1") return std::nullopt;
        p.remove_signature = true;
        break;
      case 'D':
      case 'S':
      case 'B': {
        if (value->empty()) return std::nullopt;
        SecurityTags& t = p.security_tags;
        (key == 'D' ? t.decrypted : key == 'S' ? t.signature_valid : t.signature_invalid) = std::move(*value);
        break;
      }
      case 'k': {
        auto k = parse_send_keys(*value);
        if (!k || *k == SendKeys::none) return std::nullopt;
        p.send_keys = *k;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  const bool has_time = seen_single.find('t') != std::string::npos;
  const bool has_nonce = seen_single.find('n') != std::string::npos;
  const bool encrypts = sp.plan.encrypt != EncryptMethod::none;
  if (!has_time || !has_nonce || sp.plan.recipients.empty() || has_fallback != encrypts) {
    return std::nullopt;
  }
  // What encode_payload writes only alongside another key.
  if ((sp.plan.cipher != ContentCipher::automatic && !encrypts) || (sp.plan.remove_signature && !sp.plan.verify)) {
    return std::nullopt;
  }
  return sp;
}

}  // namespace postern::plan
