#include "postern/incamail/tag_scanner.hpp"

#include <algorithm>

#include "postern/core/strings.hpp"

namespace postern::incamail {

namespace {

constexpr std::string_view kIm = "<im>";

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// What may stand between "<im><" and ">": printable ASCII without space or
// angle brackets. Anything else ends the candidate, so what is quoted back
// in a reply is always printable ASCII.
bool is_tag_char(char c) noexcept { return c > 0x20 && c < 0x7f && c != '<' && c != '>'; }

template <typename T>
void add_once(std::vector<T>& list, T value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) {
    list.push_back(std::move(value));
  }
}

}  // namespace

const char* to_string(MailType type) noexcept {
  switch (type) {
    case MailType::confidential: return "confidential";
    case MailType::personal: return "personal";
    case MailType::registered: return "registered";
  }
  return "confidential";
}

std::string tag_text(MailType type) {
  switch (type) {
    case MailType::personal: return "<im><p>";
    case MailType::registered: return "<im><r>";
    case MailType::confidential: break;
  }
  return "<im><c>";
}

std::optional<MailType> TagScan::type() const noexcept {
  if (types.size() == 1 && unknown.empty()) {
    return types.front();
  }
  return std::nullopt;
}

void TagScan::merge(const TagScan& other) {
  for (MailType t : other.types) add_once(types, t);
  for (const auto& u : other.unknown) add_once(unknown, u);
}

TagScan TagScanner::scan(std::string_view s) const {
  const bool prefix = options_.position == TagPosition::prefix;
  auto same = [this](std::string_view a, std::string_view b) {
    return options_.case_sensitive ? a == b : core::iequals(a, b);
  };
  auto im_at = [&](std::size_t at) { return s.size() - at >= kIm.size() && same(s.substr(at, kIm.size()), kIm); };
  auto skip_space = [&](std::size_t at) {
    while (at < s.size() && is_space(s[at])) ++at;
    return at;
  };

  TagScan out;
  std::size_t pos = prefix ? skip_space(0) : 0;
  while (pos < s.size()) {
    std::size_t at = pos;
    if (prefix) {
      if (!im_at(at)) break;
    } else {
      while (at < s.size() && !im_at(at)) ++at;
      if (at == s.size()) break;
    }
    const std::size_t open = at + kIm.size();
    if (open >= s.size() || s[open] != '<') {
      // "<im>" followed by other text is not a tag.
      if (prefix) break;
      pos = open;
      continue;
    }
    std::size_t end = open + 1;
    while (end < s.size() && end - (open + 1) <= kMaxTagContent && is_tag_char(s[end])) ++end;
    const std::size_t length = end - (open + 1);
    if (end < s.size() && s[end] == '>' && length <= kMaxTagContent) {
      std::string_view letter = s.substr(open + 1, length);
      if (same(letter, "c")) {
        add_once(out.types, MailType::confidential);
      } else if (same(letter, "p")) {
        add_once(out.types, MailType::personal);
      } else if (same(letter, "r")) {
        add_once(out.types, MailType::registered);
      } else {
        add_once(out.unknown, std::string(s.substr(at, end + 1 - at)));
      }
      pos = end + 1;
    } else {
      // Not closed where a tag must close: an attempt at a tag, reported
      // as written so far.
      add_once(out.unknown, std::string(s.substr(at, end - at)));
      pos = end;
    }
    if (prefix) pos = skip_space(pos);
  }
  return out;
}

}  // namespace postern::incamail
