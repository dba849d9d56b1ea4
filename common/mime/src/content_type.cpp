#include "postern/mime/content_type.hpp"

#include <algorithm>
#include <map>

#include "postern/core/strings.hpp"
#include "postern/mime/header.hpp"
#include "text.hpp"

namespace postern::mime {

namespace {

constexpr std::string_view kTspecials = "()<>@,;:\\\"/[]?=";
constexpr int kMaxSegment = 999;  // RFC 2231 continuation numbers we follow

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool is_token_char(char c) noexcept {
  return c > ' ' && c < 0x7F && kTspecials.find(c) == std::string_view::npos;
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return s_[i_]; }
  void advance() { ++i_; }

  void skip_cfws() {
    while (!at_end()) {
      if (is_space(peek())) {
        ++i_;
      } else if (peek() == '(') {
        int depth = 0;
        for (; i_ < s_.size(); ++i_) {
          if (s_[i_] == '\\' && i_ + 1 < s_.size()) {
            ++i_;
          } else if (s_[i_] == '(') {
            ++depth;
          } else if (s_[i_] == ')' && --depth == 0) {
            ++i_;
            break;
          }
        }
      } else {
        return;
      }
    }
  }

  std::string token() {
    std::size_t begin = i_;
    while (!at_end() && is_token_char(peek())) {
      ++i_;
    }
    return core::ascii_lower(s_.substr(begin, i_ - begin));
  }

  // A quoted string (an unterminated one runs to the end) or, leniently,
  // any run of bytes up to whitespace or ';'.
  std::string value() {
    std::string out;
    if (!at_end() && peek() == '"') {
      for (++i_; i_ < s_.size() && s_[i_] != '"'; ++i_) {
        if (s_[i_] == '\\' && i_ + 1 < s_.size()) {
          ++i_;
        }
        out += s_[i_];
      }
      if (!at_end()) {
        ++i_;
      }
      return out;
    }
    while (!at_end() && !is_space(peek()) && peek() != ';') {
      out += s_[i_++];
    }
    return out;
  }

  void skip_past(char c) {
    while (!at_end() && peek() != c) {
      ++i_;
    }
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    int high = -1;
    int low = -1;
    if (s[i] == '%' && i + 2 < s.size()) {
      high = detail::hex_value(s[i + 1]);
      low = detail::hex_value(s[i + 2]);
    }
    if (high >= 0 && low >= 0) {
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The pieces of one parameter as they appear: plain, RFC 2231 extended
// ("name*"), or numbered continuations ("name*0", "name*1*").
struct Pieces {
  std::string plain;
  bool has_plain = false;
  std::map<int, std::pair<std::string, bool>> segments;  // number -> (text, extended)
};

std::string join_segments(const Pieces& pieces) {
  std::string raw;
  std::string bytes;
  std::string charset;
  int expected = 0;
  for (const auto& [number, segment] : pieces.segments) {
    if (number != expected++) {
      break;  // a gap ends the value, as RFC 2231 §3 implies
    }
    const auto& [text, extended] = segment;
    raw += text;
    std::string_view data = text;
    if (extended && number == 0) {
      auto first = data.find('\'');
      auto second = first == std::string_view::npos ? first : data.find('\'', first + 1);
      if (second == std::string_view::npos) {
        return raw;  // no charset'lang' prefix: keep the raw text
      }
      charset = std::string(data.substr(0, first));
      data.remove_prefix(second + 1);
    }
    bytes += extended ? percent_decode(data) : std::string(data);
  }
  auto utf8 = detail::to_utf8(charset.empty() ? "us-ascii" : charset, bytes);
  return utf8 ? *utf8 : raw;
}

std::vector<Param> parse_params(Scanner& scan) {
  std::vector<std::string> order;
  std::map<std::string, Pieces> found;
  while (true) {
    scan.skip_cfws();
    if (scan.at_end()) {
      break;
    }
    if (scan.peek() != ';') {
      scan.skip_past(';');  // junk between parameters
      continue;
    }
    scan.advance();
    scan.skip_cfws();
    std::string name = scan.token();
    scan.skip_cfws();
    if (name.empty() || scan.at_end() || scan.peek() != '=') {
      continue;
    }
    scan.advance();
    scan.skip_cfws();
    std::string text = scan.value();

    bool extended = !name.empty() && name.back() == '*';
    if (extended) {
      name.pop_back();
    }
    int number = -1;
    auto star = name.rfind('*');
    if (star != std::string::npos && star + 1 < name.size() && name.size() - star - 1 <= 3 &&
        std::all_of(name.begin() + static_cast<std::ptrdiff_t>(star) + 1, name.end(),
                    [](char c) { return c >= '0' && c <= '9'; })) {
      number = std::stoi(name.substr(star + 1));
      name.resize(star);
    }
    if (name.empty() || number > kMaxSegment) {
      continue;
    }
    auto [it, inserted] = found.try_emplace(name);
    if (inserted) {
      order.push_back(name);
    }
    Pieces& pieces = it->second;
    if (number < 0 && !extended) {
      if (!pieces.has_plain) {
        pieces.plain = std::move(text);
        pieces.has_plain = true;
      }
    } else {
      pieces.segments.try_emplace(number < 0 ? 0 : number, std::move(text), extended);
    }
  }
  std::vector<Param> params;
  for (const auto& name : order) {
    const Pieces& pieces = found[name];
    params.push_back(Param{name, pieces.segments.empty() ? pieces.plain : join_segments(pieces)});
  }
  return params;
}

const std::string* find_param(const std::vector<Param>& params, std::string_view name) noexcept {
  for (const auto& p : params) {
    if (core::iequals(p.name, name)) {
      return &p.value;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<ContentType> ContentType::parse(std::string_view raw_value) {
  std::string text = unfold(raw_value);
  Scanner scan(text);
  scan.skip_cfws();
  ContentType result;
  result.type = scan.token();
  scan.skip_cfws();
  if (result.type.empty() || scan.at_end() || scan.peek() != '/') {
    return std::nullopt;
  }
  scan.advance();
  scan.skip_cfws();
  result.subtype = scan.token();
  if (result.subtype.empty()) {
    return std::nullopt;
  }
  result.params = parse_params(scan);
  return result;
}

const std::string* ContentType::param(std::string_view name) const noexcept { return find_param(params, name); }

bool ContentType::is(std::string_view type_name, std::string_view subtype_name) const noexcept {
  return core::iequals(type, type_name) && (subtype_name.empty() || core::iequals(subtype, subtype_name));
}

ContentDisposition ContentDisposition::parse(std::string_view raw_value) {
  std::string text = unfold(raw_value);
  Scanner scan(text);
  scan.skip_cfws();
  ContentDisposition result;
  result.type = scan.token();
  result.params = parse_params(scan);
  return result;
}

const std::string* ContentDisposition::param(std::string_view name) const noexcept {
  return find_param(params, name);
}

}  // namespace postern::mime
