#include "postern/ldap/filter.hpp"

namespace postern::ldap {
namespace {

bool alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

// keystring = leadkeychar *keychar
bool keystring(std::string_view s) noexcept {
  if (s.empty() || !alpha(s.front())) {
    return false;
  }
  for (char c : s) {
    if (!alpha(c) && !digit(c) && c != '-') {
      return false;
    }
  }
  return true;
}

// numericoid = number 1*( DOT number )
bool numericoid(std::string_view s) noexcept {
  if (s.empty() || s.front() == '.' || s.back() == '.' || s.find('.') == std::string_view::npos) {
    return false;
  }
  for (char c : s) {
    if (!digit(c) && c != '.') {
      return false;
    }
  }
  return s.find("..") == std::string_view::npos;
}

}  // namespace

std::string escape_filter_value(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c == 0x7f) {
      out += '\\';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out;
}

std::string expand_filter(std::string_view tmpl, std::string_view value) {
  const std::string escaped = escape_filter_value(value);
  std::string out;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '%' && i + 1 < tmpl.size() && tmpl[i + 1] == 's') {
      out += escaped;
      ++i;
    } else if (tmpl[i] == '%' && i + 1 < tmpl.size() && tmpl[i + 1] == '%') {
      out += '%';
      ++i;
    } else {
      out += tmpl[i];
    }
  }
  return out;
}

bool valid_attribute_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 256) {
    return false;
  }
  const auto semi = name.find(';');
  const auto base = name.substr(0, semi);
  if (!keystring(base) && !numericoid(base)) {
    return false;
  }
  if (semi == std::string_view::npos) {
    return true;
  }
  std::string_view rest = name.substr(semi + 1);
  while (true) {
    const auto next = rest.find(';');
    if (!keystring(rest.substr(0, next))) {
      return false;
    }
    if (next == std::string_view::npos) {
      return true;
    }
    rest = rest.substr(next + 1);
  }
}

}  // namespace postern::ldap
