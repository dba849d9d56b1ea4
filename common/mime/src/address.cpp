#include "postern/mime/address.hpp"

#include <idn2.h>

#include "postern/core/c_unique.hpp"
#include "postern/core/net.hpp"
#include "postern/core/strings.hpp"
#include "postern/mime/encoded_word.hpp"
#include "postern/mime/header.hpp"
#include "text.hpp"

namespace postern::mime {

namespace {

using IdnString = core::CUnique<char, &idn2_free>;

constexpr std::string_view kSpecials = "()<>[]:;@\\,.\"";
constexpr std::size_t kMaxDomainLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

[[noreturn]] void fail(const std::string& what, std::size_t offset) {
  throw AddressError(what + " at offset " + std::to_string(offset));
}

bool is_control(char c) noexcept { return (c >= 0 && c < ' ' && c != '\t') || c == 0x7F; }

bool is_atext(char c) noexcept {
  return !is_control(c) && c != ' ' && c != '\t' && kSpecials.find(c) == std::string_view::npos;
}

// A dot-atom: the form a local part may take without quotes.
bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.' || s.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : s) {
    if (c != '.' && !is_atext(c)) {
      return false;
    }
  }
  return true;
}

std::string quote_local_part(std::string_view local) {
  if (is_dot_atom(local)) {
    return std::string(local);
  }
  std::string out = "\"";
  for (char c : local) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += '"';
  return out;
}

void check_ldh_labels(std::string_view domain) {
  if (domain.empty()) {
    throw AddressError("empty domain");
  }
  if (domain.size() > kMaxDomainLength) {
    throw AddressError("domain longer than 253 characters");
  }
  for (std::string_view label : core::split(domain, '.')) {
    if (label.empty() || label.size() > kMaxLabelLength) {
      throw AddressError("domain label empty or longer than 63 characters");
    }
    if (label.front() == '-' || label.back() == '-') {
      throw AddressError("domain label starts or ends with '-'");
    }
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) {
        throw AddressError("domain label with a character other than letter, digit or '-'");
      }
    }
  }
}

void check_address_literal(std::string_view literal) {
  std::string_view inner = literal.substr(1, literal.size() - 2);
  bool tagged_v6 = core::istarts_with(inner, "IPv6:");
  if ((!tagged_v6 && inner.find(':') != std::string_view::npos) || !core::IpAddress::parse(inner)) {
    throw AddressError("address literal is neither IPv4 nor tagged IPv6");
  }
}

bool is_literal(std::string_view domain) { return !domain.empty() && domain.front() == '['; }

struct Token {
  enum class Kind { atom, quoted, literal, special };
  Kind kind = Kind::atom;
  std::string text;  // quoted: the content unescaped; literal: with its brackets
  bool space_before = false;
  std::size_t offset = 0;

  bool is(char c) const { return kind == Kind::special && text[0] == c; }
  bool is_word() const { return kind == Kind::atom || kind == Kind::quoted; }
};

// Splits unfolded text into tokens; comments and whitespace only set
// space_before. smtp: a path, where neither may appear.
std::vector<Token> lex(std::string_view s, bool smtp) {
  std::vector<Token> tokens;
  bool space = false;
  std::size_t i = 0;
  auto check_char = [&](std::size_t at) {
    if (is_control(s[at])) {
      fail("control character", at);
    }
  };
  while (i < s.size()) {
    char c = s[i];
    std::size_t start = i;
    if (c == ' ' || c == '\t' || c == '(') {
      if (smtp) {
        fail(c == '(' ? "comment in a path" : "whitespace in a path", i);
      }
      space = true;
      if (c != '(') {
        ++i;
        continue;
      }
      int depth = 0;
      for (; i < s.size(); ++i) {
        check_char(i);
        if (s[i] == '\\') {
          ++i;
          if (i < s.size()) {
            check_char(i);
          }
        } else if (s[i] == '(') {
          ++depth;
        } else if (s[i] == ')' && --depth == 0) {
          break;
        }
      }
      if (i >= s.size()) {
        fail("unbalanced parenthesis", start);
      }
      ++i;
      continue;
    }
    Token token;
    token.space_before = space;
    token.offset = start;
    space = false;
    if (c == '"') {
      token.kind = Token::Kind::quoted;
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        check_char(i);
        if (s[i] == '\\' && ++i < s.size()) {
          check_char(i);
        }
        if (i < s.size()) {
          token.text += s[i];
        }
      }
      if (i >= s.size()) {
        fail("unbalanced quote", start);
      }
      ++i;
    } else if (c == '[') {
      token.kind = Token::Kind::literal;
      while (i < s.size() && s[i] != ']') {
        check_char(i);
        if (s[i] == '\\' || (s[i] == '[' && i != start)) {
          fail("bad character in address literal", i);
        }
        token.text += s[i++];
      }
      if (i >= s.size()) {
        fail("unterminated address literal", start);
      }
      token.text += s[i++];
    } else if (c == ')' || c == ']' || c == '\\') {
      fail(std::string("unexpected '") + c + "'", i);
    } else if (kSpecials.find(c) != std::string_view::npos) {
      token.kind = Token::Kind::special;
      token.text = std::string(1, c);
      ++i;
    } else {
      check_char(i);
      while (i < s.size() && is_atext(s[i])) {
        token.text += s[i++];
      }
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::size_t length) : tokens_(std::move(tokens)), length_(length) {}

  std::vector<Mailbox> address_list() {
    std::vector<Mailbox> out;
    while (!at_end()) {
      if (peek().is(',')) {
        ++pos_;  // obsolete empty list element
        continue;
      }
      address(out);
      if (!at_end() && !peek().is(',')) {
        fail("expected ',' between addresses", peek().offset);
      }
    }
    return out;
  }

  Mailbox path() {
    Mailbox mailbox;
    skip_route();
    addr_spec(mailbox);
    if (!at_end()) {
      fail("unexpected text after the address", peek().offset);
    }
    return mailbox;
  }

 private:
  bool at_end() const { return pos_ >= tokens_.size(); }
  const Token& peek() const { return tokens_[pos_]; }
  std::size_t offset() const { return at_end() ? length_ : peek().offset; }

  static bool is_phrase(const Token& t) { return t.is_word() || t.is('.'); }

  void address(std::vector<Mailbox>& out) {
    std::size_t end = pos_;
    while (end < tokens_.size() && is_phrase(tokens_[end])) {
      ++end;
    }
    if (end == pos_ || end == tokens_.size() || !tokens_[end].is(':')) {
      out.push_back(mailbox());
      return;
    }
    pos_ = end + 1;  // a group: its members, then ';'
    while (!at_end() && !peek().is(';')) {
      if (peek().is(',')) {
        ++pos_;
        continue;
      }
      out.push_back(mailbox());
      if (!at_end() && !peek().is(',') && !peek().is(';')) {
        fail("expected ',' or ';' in a group", peek().offset);
      }
    }
    if (!at_end()) {
      ++pos_;  // ';' (one missing at the very end is tolerated, as clients omit it)
    }
  }

  Mailbox mailbox() {
    Mailbox mailbox;
    std::size_t angle = pos_;
    while (angle < tokens_.size() && !tokens_[angle].is('<') && !tokens_[angle].is(',') &&
           !tokens_[angle].is(';')) {
      ++angle;
    }
    if (angle == tokens_.size() || !tokens_[angle].is('<')) {
      addr_spec(mailbox);
      return mailbox;
    }
    mailbox.display_name = phrase(pos_, angle);
    pos_ = angle + 1;
    skip_route();
    addr_spec(mailbox);
    if (at_end() || !peek().is('>')) {
      fail("missing '>'", offset());
    }
    ++pos_;
    return mailbox;
  }

  // The display name: tokens as written, one space where there was
  // whitespace, then RFC 2047 decoded.
  std::string phrase(std::size_t begin, std::size_t end) const {
    std::string text;
    for (std::size_t i = begin; i < end; ++i) {
      const Token& t = tokens_[i];
      if (t.is(':') || t.is('>') || t.is('<')) {
        fail("unexpected '" + t.text + "' in a display name", t.offset);
      }
      if (i > begin && t.space_before) {
        text += ' ';
      }
      text += t.text;
    }
    return decode_header_text(text);
  }

  // Obsolete source route: "@relay1,@relay2:" before the address.
  void skip_route() {
    if (at_end() || !peek().is('@')) {
      return;
    }
    while (!at_end() && !peek().is(':')) {
      ++pos_;
    }
    if (at_end()) {
      fail("bad source route", length_);
    }
    ++pos_;
  }

  void addr_spec(Mailbox& mailbox) {
    std::size_t local_offset = offset();
    while (true) {
      if (at_end() || !peek().is_word()) {
        fail(mailbox.local_part.empty() ? "missing local part" : "empty part in the local part", offset());
      }
      mailbox.local_part_quoted |= peek().kind == Token::Kind::quoted;
      mailbox.local_part += tokens_[pos_++].text;
      if (at_end() || !peek().is('.')) {
        break;
      }
      mailbox.local_part += '.';
      ++pos_;
    }
    if (mailbox.local_part.empty()) {
      fail("empty local part", offset());
    }
    if (!detail::is_valid_utf8(mailbox.local_part)) {
      fail("local part is not valid UTF-8", local_offset);
    }
    if (at_end() || !peek().is('@')) {
      fail("missing '@domain'", offset());
    }
    ++pos_;
    std::size_t domain_offset = offset();
    if (!at_end() && peek().kind == Token::Kind::literal) {
      mailbox.domain = tokens_[pos_++].text;
    } else {
      while (!at_end() && peek().kind == Token::Kind::atom) {
        mailbox.domain += tokens_[pos_++].text;
        if (at_end() || !peek().is('.')) {
          break;
        }
        ++pos_;
        if (at_end() || peek().kind != Token::Kind::atom) {
          mailbox.trailing_dot = true;
          break;
        }
        mailbox.domain += '.';
      }
    }
    try {
      mailbox.domain_ascii();
    } catch (const AddressError& e) {
      fail(e.what(), domain_offset);
    }
  }

  std::vector<Token> tokens_;
  std::size_t length_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string Mailbox::domain_ascii() const {
  if (is_literal(domain)) {
    check_address_literal(domain);
    return domain;
  }
  bool plain_ascii = true;
  for (std::string_view label : core::split(domain, '.')) {
    plain_ascii = plain_ascii && !core::istarts_with(label, "xn--");
  }
  for (char c : domain) {
    plain_ascii = plain_ascii && static_cast<unsigned char>(c) < 0x80;
  }
  std::string ascii;
  if (plain_ascii) {
    ascii = core::ascii_lower(domain);
  } else {
    if (domain.find('\0') != std::string::npos) {
      throw AddressError("NUL in domain");
    }
    char* raw = nullptr;
    int rc = idn2_to_ascii_8z(domain.c_str(), &raw, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    IdnString owned(raw);
    if (rc != IDN2_OK) {
      throw AddressError(std::string("domain is not a valid IDN: ") + idn2_strerror(rc));
    }
    ascii = owned.get();
  }
  check_ldh_labels(ascii);
  return ascii;
}

std::string Mailbox::domain_unicode() const {
  std::string ascii = domain_ascii();
  if (is_literal(ascii) || ascii.find("xn--") == std::string::npos) {
    return ascii;
  }
  char* raw = nullptr;
  int rc = idn2_to_unicode_8z8z(ascii.c_str(), &raw, 0);
  IdnString owned(raw);
  if (rc != IDN2_OK) {
    throw AddressError(std::string("domain is not a valid IDN: ") + idn2_strerror(rc));
  }
  return owned.get();
}

std::string Mailbox::addr_spec() const { return quote_local_part(local_part) + '@' + domain; }

std::string Mailbox::to_envelope() const { return '<' + quote_local_part(local_part) + '@' + domain_ascii() + '>'; }

bool Mailbox::same_address(const Mailbox& other) const {
  return local_part == other.local_part && domain_ascii() == other.domain_ascii();
}

std::vector<Mailbox> parse_address_list(std::string_view raw_value) {
  std::string text = unfold(raw_value);
  return Parser(lex(text, false), text.size()).address_list();
}

std::optional<Mailbox> parse_envelope_path(std::string_view path) {
  if (!path.empty() && path.front() == '<') {
    if (path.size() < 2 || path.back() != '>') {
      throw AddressError("path without closing '>'");
    }
    path = path.substr(1, path.size() - 2);
  }
  if (path.empty()) {
    return std::nullopt;
  }
  return Parser(lex(path, true), path.size()).path();
}

}  // namespace postern::mime
