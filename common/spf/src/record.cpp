#include "postern/spf/record.hpp"

#include <arpa/inet.h>

#include <cctype>

#include "postern/core/strings.hpp"

namespace postern::spf {
namespace {

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alnum(char c) noexcept { return is_alpha(c) || is_digit(c); }

// "spf2.0/pra,mfrom rest" -> scopes; nullopt when not an spf2.0 record.
std::optional<std::vector<std::string>> spf2_scopes(std::string_view text, std::size_t& end) {
  if (!core::istarts_with(text, "spf2.0/")) {
    return std::nullopt;
  }
  end = text.find(' ');
  if (end == std::string_view::npos) {
    end = text.size();
  }
  std::vector<std::string> scopes;
  for (std::string_view scope : core::split(text.substr(7, end - 7), ',')) {
    scopes.push_back(core::ascii_lower(scope));
  }
  return scopes;
}

bool is_spf1(std::string_view text) noexcept {
  return core::istarts_with(text, "v=spf1") && (text.size() == 6 || text[6] == ' ');
}

// Decimal without leading zeros, within [0, max].
std::optional<int> small_number(std::string_view text, int max) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  int value = 0;
  for (char c : text) {
    if (!is_digit(c)) {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  if (value > max) {
    return std::nullopt;
  }
  return value;
}

bool valid_toplabel(std::string_view label) noexcept {
  if (label.empty()) {
    return false;
  }
  bool alpha = false;
  bool dash = false;
  for (char c : label) {
    if (c == '-') {
      dash = true;
    } else if (is_alpha(c)) {
      alpha = true;
    } else if (!is_digit(c)) {
      return false;
    }
  }
  if (dash) {
    return is_alnum(label.front()) && is_alnum(label.back());
  }
  return alpha;
}

// Length of the macro-expand starting at text[pos] == '%', or 0 if invalid.
std::size_t macro_length(std::string_view text, std::size_t pos, bool exp_text) noexcept {
  if (pos + 1 >= text.size()) {
    return 0;
  }
  const char next = text[pos + 1];
  if (next == '%' || next == '_' || next == '-') {
    return 2;
  }
  if (next != '{' || pos + 3 >= text.size()) {
    return 0;
  }
  const char letter = core::ascii_lower(text[pos + 2]);
  const std::string_view letters = exp_text ? "slodiphcrtv" : "slodiphv";
  if (letters.find(letter) == std::string_view::npos) {
    return 0;
  }
  std::size_t i = pos + 3;
  std::size_t digits = 0;
  int value = 0;
  while (i < text.size() && is_digit(text[i])) {
    value = value * 10 + (text[i] - '0');
    ++digits;
    ++i;
    if (digits > 3) {
      return 0;  // bounded: libspf2 must never see huge truncation counts
    }
  }
  if (digits > 0 && (value == 0 || value > 128)) {
    return 0;
  }
  if (i < text.size() && (text[i] == 'r' || text[i] == 'R')) {
    ++i;
  }
  while (i < text.size() && std::string_view(".-+,/_=").find(text[i]) != std::string_view::npos) {
    ++i;
  }
  if (i >= text.size() || text[i] != '}') {
    return 0;
  }
  return i + 1 - pos;
}

// RFC 7208 §7.1 domain-spec = macro-string domain-end.
bool valid_domain_spec(std::string_view spec) noexcept {
  if (spec.empty() || !is_valid_macro_string(spec, false)) {
    return false;
  }
  // domain-end alternative 2: the spec ends with a macro-expand.
  if (spec.back() == '}') {
    const auto open = spec.rfind("%{");
    if (open != std::string_view::npos && macro_length(spec, open, false) == spec.size() - open) {
      return true;
    }
  }
  if (spec.size() >= 2 && spec[spec.size() - 2] == '%' &&
      (spec.back() == '%' || spec.back() == '_' || spec.back() == '-')) {
    return true;
  }
  std::string_view body = spec;
  if (body.back() == '.') {
    body.remove_suffix(1);
  }
  const auto dot = body.rfind('.');
  if (dot == std::string_view::npos) {
    return false;
  }
  return valid_toplabel(body.substr(dot + 1));
}

bool valid_ip4(std::string_view text) noexcept {
  const auto parts = core::split(text, '.');
  if (parts.size() != 4) {
    return false;
  }
  for (auto p : parts) {
    if (!small_number(p, 255)) {
      return false;
    }
  }
  return true;
}

bool valid_ip6(std::string_view text) {
  in6_addr out{};
  return !text.empty() && text.size() < 64 && inet_pton(AF_INET6, std::string(text).c_str(), &out) == 1;
}

// Splits "spec/24//64" into spec and the CIDR lengths. The lengths are
// taken from the end: a '/' followed by anything but digits belongs to the
// domain-spec ("a:foo:bar/baz.example.com" is a domain).
void split_cidr(std::string_view arg, Term& term, bool dual) {
  const auto digits_after = [&](std::size_t slash) {
    return slash + 1 < arg.size() &&
           arg.substr(slash + 1).find_first_not_of("0123456789") == std::string_view::npos;
  };
  const auto bad = [&](std::string_view cidr) {
    return RecordError("invalid CIDR length '" + std::string(cidr) + "'");
  };
  const bool v4 = !dual && term.mechanism == Mechanism::ip4;
  if (dual) {
    const auto v6 = arg.rfind("//");
    if (v6 != std::string_view::npos && digits_after(v6 + 1)) {
      auto n = small_number(arg.substr(v6 + 2), 128);
      if (!n) {
        throw bad(arg.substr(v6));
      }
      term.cidr6 = *n;
      arg = arg.substr(0, v6);
    }
  }
  const auto slash = arg.rfind('/');
  if (slash != std::string_view::npos && digits_after(slash)) {
    auto n = small_number(arg.substr(slash + 1), dual || v4 ? 32 : 128);
    if (!n) {
      throw bad(arg.substr(slash));
    }
    (dual || v4 ? term.cidr4 : term.cidr6) = *n;
    arg = arg.substr(0, slash);
  } else if (!dual && slash != std::string_view::npos) {
    throw bad(arg.substr(slash));
  }
  term.argument = std::string(arg);
}

// The network as libspf2 reads it best: inet_ntop's canonical form.
std::string canonical_network(std::string_view text, bool v4) {
  unsigned char buf[sizeof(in6_addr)];
  char out[INET6_ADDRSTRLEN];
  const int family = v4 ? AF_INET : AF_INET6;
  if (inet_pton(family, std::string(text).c_str(), buf) != 1 ||
      inet_ntop(family, buf, out, sizeof out) == nullptr) {
    return std::string(text);
  }
  return out;
}

Term parse_mechanism(std::string_view text) {
  Term term;
  if (!text.empty() && std::string_view("+-~?").find(text.front()) != std::string_view::npos) {
    term.qualifier = text.front();
    text.remove_prefix(1);
  }
  std::size_t name_end = 0;
  while (name_end < text.size() && is_alnum(text[name_end])) {
    ++name_end;
  }
  const std::string name = core::ascii_lower(text.substr(0, name_end));
  std::string_view rest = text.substr(name_end);
  static const std::pair<const char*, Mechanism> kNames[] = {
      {"all", Mechanism::all}, {"include", Mechanism::include}, {"a", Mechanism::a},
      {"mx", Mechanism::mx},   {"ptr", Mechanism::ptr},         {"ip4", Mechanism::ip4},
      {"ip6", Mechanism::ip6}, {"exists", Mechanism::exists}};
  bool known = false;
  for (const auto& [n, m] : kNames) {
    if (name == n) {
      term.mechanism = m;
      known = true;
    }
  }
  if (!known) {
    throw RecordError("unknown mechanism '" + std::string(text) + "'");
  }
  const auto need_domain = [&](std::string_view spec) {
    if (!valid_domain_spec(spec)) {
      throw RecordError("invalid domain-spec in '" + std::string(text) + "'");
    }
  };
  switch (term.mechanism) {
    case Mechanism::all:
      if (!rest.empty()) {
        throw RecordError("'all' takes no argument");
      }
      break;
    case Mechanism::include:
    case Mechanism::exists:
      if (rest.size() < 2 || rest.front() != ':') {
        throw RecordError("'" + name + "' needs a domain");
      }
      term.argument = std::string(rest.substr(1));
      need_domain(term.argument);
      break;
    case Mechanism::ptr:
      if (!rest.empty()) {
        if (rest.front() != ':') {
          throw RecordError("bad 'ptr' argument");
        }
        term.argument = std::string(rest.substr(1));
        need_domain(term.argument);
      }
      break;
    case Mechanism::a:
    case Mechanism::mx:
      if (!rest.empty() && rest.front() == ':') {
        split_cidr(rest.substr(1), term, true);
        need_domain(term.argument);
      } else if (!rest.empty()) {
        if (rest.front() != '/') {
          throw RecordError("bad '" + name + "' argument");
        }
        split_cidr(rest, term, true);
      }
      break;
    case Mechanism::ip4:
    case Mechanism::ip6:
      if (rest.size() < 2 || rest.front() != ':') {
        throw RecordError("'" + name + "' needs a network");
      }
      split_cidr(rest.substr(1), term, false);
      if (term.mechanism == Mechanism::ip4 ? !valid_ip4(term.argument) : !valid_ip6(term.argument)) {
        throw RecordError("invalid network in '" + std::string(text) + "'");
      }
      break;
  }
  return term;
}

std::string cidr_suffix(int cidr4, int cidr6) {
  std::string out;
  if (cidr4 > 0) {
    out += "/" + std::to_string(cidr4);
  }
  if (cidr6 > 0) {
    out += "//" + std::to_string(cidr6);
  }
  return out;
}

const char* mechanism_name(Mechanism m) noexcept {
  switch (m) {
    case Mechanism::all: return "all";
    case Mechanism::include: return "include";
    case Mechanism::a: return "a";
    case Mechanism::mx: return "mx";
    case Mechanism::ptr: return "ptr";
    case Mechanism::ip4: return "ip4";
    case Mechanism::ip6: return "ip6";
    case Mechanism::exists: return "exists";
  }
  return "?";
}

}  // namespace

bool is_valid_macro_string(std::string_view text, bool exp_text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '%') {
      const std::size_t n = macro_length(text, i, exp_text);
      if (n == 0) {
        return false;
      }
      i += n;
      continue;
    }
    // macro-literal is visible ASCII; exp text may also hold spaces.
    if (c < 0x21 || c > 0x7e) {
      if (!(exp_text && c == ' ')) {
        return false;
      }
    }
    ++i;
  }
  return true;
}

bool is_checkable_domain(std::string_view domain) noexcept {
  if (!domain.empty() && domain.back() == '.') {
    domain.remove_suffix(1);
  }
  if (domain.empty() || domain.size() > 253 || domain.front() == '[') {
    return false;
  }
  int labels = 0;
  for (std::string_view label : core::split(domain, '.')) {
    if (label.empty() || label.size() > 63) {
      return false;
    }
    for (char c : label) {
      const auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u >= 0x7f) {
        return false;
      }
    }
    ++labels;
  }
  return labels >= 2;
}

Selection select_record(const std::vector<std::string>& txt, Scope scope) {
  std::vector<std::string> spf2;
  std::vector<std::string> spf1;
  for (const std::string& t : txt) {
    std::size_t end = 0;
    if (scope == Scope::pra) {
      if (auto scopes = spf2_scopes(t, end)) {
        for (const auto& s : *scopes) {
          if (s == "pra") {
            spf2.push_back("v=spf1" + t.substr(end));
            break;
          }
        }
        continue;
      }
    }
    if (is_spf1(t)) {
      spf1.push_back(t);
    }
  }
  const auto& chosen = spf2.empty() ? spf1 : spf2;
  Selection s;
  if (chosen.size() == 1) {
    s.kind = Selection::Kind::one;
    s.text = chosen.front();
  } else if (chosen.size() > 1) {
    s.kind = Selection::Kind::multiple;
  }
  return s;
}

Record parse_record(std::string_view text) {
  if (!is_spf1(text)) {
    throw RecordError("not an SPF record");
  }
  Record record;
  for (std::string_view term : core::split(text.substr(6), ' ')) {
    if (term.empty()) {
      continue;
    }
    for (char c : term) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x21 || u > 0x7e) {
        throw RecordError("invalid character in '" + std::string(term.substr(0, 40)) + "'");
      }
    }
    std::size_t i = 0;
    if (is_alpha(term[0])) {
      while (i < term.size() && (is_alnum(term[i]) || term[i] == '-' || term[i] == '_' || term[i] == '.')) {
        ++i;
      }
    }
    if (i > 0 && i < term.size() && term[i] == '=') {
      const std::string name = core::ascii_lower(term.substr(0, i));
      const std::string_view value = term.substr(i + 1);
      if (name == "redirect" || name == "exp") {
        auto& slot = name == "redirect" ? record.redirect : record.exp;
        if (slot) {
          throw RecordError("more than one " + name + "= modifier");
        }
        if (!valid_domain_spec(value)) {
          throw RecordError("invalid domain-spec in " + name + "=");
        }
        slot = std::string(value);
      } else if (!is_valid_macro_string(value, false)) {
        throw RecordError("invalid macro in modifier " + name + "=");
      }
      continue;
    }
    record.terms.push_back(parse_mechanism(term));
  }
  return record;
}

std::string render(const Record& record, const core::IpAddress& client) {
  const bool v4 = client.is_v4();
  std::string out = "v=spf1";
  for (const Term& t : record.terms) {
    out += ' ';
    if (t.qualifier != '+') {
      out += t.qualifier;
    }
    const std::string spec = t.argument.empty() ? std::string("%{d}") : t.argument;
    switch (t.mechanism) {
      case Mechanism::ip4:
      case Mechanism::ip6: {
        const bool same_family = (t.mechanism == Mechanism::ip4) == v4;
        const int cidr = v4 ? t.cidr4 : t.cidr6;
        out += mechanism_name(t.mechanism);
        out += ':';
        if (same_family && cidr == 0) {
          out += client.to_string();  // x/0 holds every address of the family
        } else {
          const int own = t.mechanism == Mechanism::ip4 ? t.cidr4 : t.cidr6;
          out += canonical_network(t.argument, t.mechanism == Mechanism::ip4);
          if (own > 0) {
            out += "/" + std::to_string(own);
          }
        }
        break;
      }
      case Mechanism::a:
      case Mechanism::mx: {
        const int cidr = v4 ? t.cidr4 : t.cidr6;
        if (cidr == 0) {
          // libspf2 reads /0 as /32: "any address of the family" is asked as exists.
          std::string name = spec;
          if (name.back() == '.') {
            name.pop_back();
          }
          if (t.mechanism == Mechanism::mx) {
            name += v4 ? kMxAMarker : kMxAaaaMarker;
          } else if (!v4) {
            name += kAnyAaaaMarker;
          }
          out += "exists:" + name;
        } else {
          out += mechanism_name(t.mechanism);
          if (!t.argument.empty()) {
            out += ':' + t.argument;
          }
          out += cidr_suffix(v4 ? t.cidr4 : -1, v4 ? -1 : t.cidr6);
        }
        break;
      }
      default:
        out += mechanism_name(t.mechanism);
        if (!t.argument.empty()) {
          out += ':' + t.argument;
        }
        break;
    }
  }
  if (record.redirect) {
    out += " redirect=" + *record.redirect;
  }
  return out;
}

}  // namespace postern::spf
