#include "postern/mime/encoded_word.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <vector>

#include "postern/core/strings.hpp"
#include "postern/mime/header.hpp"
#include "postern/mime/transfer_encoding.hpp"
#include "text.hpp"

namespace postern::mime {

namespace {

constexpr std::size_t kMaxLine = 76;  // RFC 2047 §2, for lines holding encoded words
constexpr std::size_t kMaxWord = 75;
constexpr std::string_view kPrefixB = "=?UTF-8?B?";
constexpr std::string_view kPrefixQ = "=?UTF-8?Q?";
constexpr std::size_t kWordOverhead = 12;  // prefix and "?="

bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }

// Printable ASCII except '?': what charset names and encoded text consist of.
bool is_word_char(char c) noexcept { return c > ' ' && c < 0x7F && c != '?'; }

struct EncodedWord {
  std::size_t length = 0;  // 0 when there is no encoded word here
  std::string_view charset;
  char encoding = 0;
  std::string_view text;
};

EncodedWord match_encoded_word(std::string_view s, std::size_t pos) {
  EncodedWord word;
  if (s.substr(pos, 2) != "=?") {
    return word;
  }
  std::size_t i = pos + 2;
  std::size_t charset_begin = i;
  while (i < s.size() && is_word_char(s[i])) {
    ++i;
  }
  if (i == charset_begin || i + 2 >= s.size() || s[i] != '?' || s[i + 2] != '?') {
    return word;
  }
  word.charset = s.substr(charset_begin, i - charset_begin);
  word.encoding = core::ascii_lower(s[i + 1]);
  if (word.encoding != 'b' && word.encoding != 'q') {
    return word;
  }
  i += 3;
  std::size_t text_begin = i;
  while (i < s.size() && is_word_char(s[i])) {
    ++i;
  }
  if (s.substr(i, 2) != "?=") {
    return word;
  }
  word.text = s.substr(text_begin, i - text_begin);
  word.length = i + 2 - pos;
  return word;
}

std::optional<std::string> decode_q(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '_') {
      out += ' ';
    } else if (text[i] == '=') {
      int high = i + 1 < text.size() ? detail::hex_value(text[i + 1]) : -1;
      int low = i + 2 < text.size() ? detail::hex_value(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::optional<std::string> decode_word(const EncodedWord& word) {
  auto bytes = word.encoding == 'b' ? decode_base64(word.text) : decode_q(word.text);
  if (!bytes) {
    return std::nullopt;
  }
  return detail::to_utf8(word.charset, *bytes);
}

// Characters that stand for themselves in Q text anywhere (RFC 2047 §5(3)).
bool is_q_safe(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '!' || c == '*' ||
         c == '+' || c == '-' || c == '/';
}

std::size_t q_length(std::string_view bytes) {
  std::size_t n = 0;
  for (char c : bytes) {
    n += (is_q_safe(c) || c == ' ') ? 1 : 3;
  }
  return n;
}

std::size_t b_length(std::size_t bytes) { return (bytes + 2) / 3 * 4; }

std::string make_word(std::string_view bytes, bool use_b) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out(use_b ? kPrefixB : kPrefixQ);
  if (use_b) {
    out += encode_base64(bytes);
  } else {
    for (char c : bytes) {
      if (is_q_safe(c)) {
        out += c;
      } else if (c == ' ') {
        out += '_';
      } else {
        auto u = static_cast<unsigned char>(c);
        out += '=';
        out += kHex[u >> 4];
        out += kHex[u & 0x0F];
      }
    }
  }
  out += "?=";
  return out;
}

// A word that cannot appear literally: control or 8-bit bytes, something a
// decoder would take for an encoded word, or too long to fit on a line.
bool needs_encoding(std::string_view word) {
  return word.size() >= kMaxLine || word.find("=?") != std::string_view::npos ||
         std::any_of(word.begin(), word.end(), [](char c) { return c < '!' || c > '~'; });
}

// One unit of output: a literal word, or a run of words to encode (the
// whitespace between them encoded too), with the whitespace before it.
struct Token {
  std::string_view space;
  std::string text;
  bool encode = false;
};

std::vector<Token> tokenize(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t word_begin = pos;
    while (word_begin < text.size() && is_wsp(text[word_begin])) {
      ++word_begin;
    }
    std::size_t word_end = word_begin;
    while (word_end < text.size() && !is_wsp(text[word_end])) {
      ++word_end;
    }
    std::string_view space = text.substr(pos, word_begin - pos);
    std::string_view word = text.substr(word_begin, word_end - word_begin);
    bool encode = needs_encoding(word) || space.size() + word.size() >= kMaxLine;
    if (encode && !tokens.empty() && tokens.back().encode) {
      tokens.back().text += space;
      tokens.back().text += word;
    } else if (encode && space.size() > 1) {
      // Keep one whitespace character literal and encode the rest, so a
      // long run of it can still be folded.
      tokens.push_back(Token{space.substr(0, 1), std::string(space.substr(1)) + std::string(word), true});
    } else {
      tokens.push_back(Token{space, std::string(word), encode});
    }
    pos = word_end;
  }
  return tokens;
}

}  // namespace

std::string decode_header_text(std::string_view raw_value) {
  std::string text = unfold(raw_value);
  std::string out;
  out.reserve(text.size());
  std::string_view pending_space;  // whitespace seen since the last token
  bool after_word = false;         // the last token was a decoded encoded word
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_wsp(text[i])) {
      std::size_t begin = i;
      while (i < text.size() && is_wsp(text[i])) {
        ++i;
      }
      pending_space = std::string_view(text).substr(begin, i - begin);
      continue;
    }
    EncodedWord word = match_encoded_word(text, i);
    std::optional<std::string> decoded;
    if (word.length > 0) {
      decoded = decode_word(word);
    }
    if (!(decoded && after_word)) {
      out += pending_space;
    }
    pending_space = {};
    if (decoded) {
      out += *decoded;
      i += word.length;
      after_word = true;
    } else {
      out += text[i];
      ++i;
      after_word = false;
    }
  }
  return std::string(core::trim(out));
}

std::string encode_header_text(std::string_view field_name, std::string_view utf8, std::string_view eol) {
  if (!detail::is_valid_utf8(utf8)) {
    throw std::invalid_argument("header text is not valid UTF-8");
  }
  std::string out;
  std::size_t column = field_name.size() + 1;  // "Name:"
  for (const Token& token : tokenize(core::trim(utf8))) {
    std::string_view space = out.empty() ? std::string_view(" ") : token.space;
    if (!token.encode) {
      if (!out.empty() && column + space.size() + token.text.size() > kMaxLine) {
        out += eol;  // fold before the whitespace
        column = 0;
      }
      out += space;
      out += token.text;
      column += space.size() + token.text.size();
      continue;
    }
    std::string_view bytes = token.text;
    bool use_b = b_length(bytes.size()) < q_length(bytes);
    while (!bytes.empty()) {
      std::size_t room = kMaxLine > column + space.size() ? kMaxLine - column - space.size() : 0;
      std::size_t limit = std::min(kMaxWord, room);
      std::size_t take = 0;
      while (take < bytes.size()) {
        std::size_t next = take + detail::utf8_sequence_length(bytes, take);
        std::size_t length =
            kWordOverhead + (use_b ? b_length(next) : q_length(bytes.substr(0, next)));
        if (length > limit) {
          break;
        }
        take = next;
      }
      if (take == 0) {
        out += eol;  // not even one character fits: continue on a new line
        column = 0;
        continue;
      }
      std::string word = make_word(bytes.substr(0, take), use_b);
      out += space;
      out += word;
      column += space.size() + word.size();
      bytes.remove_prefix(take);
      space = " ";  // adjacent encoded words need whitespace, which decoders drop
    }
  }
  return out;
}

std::optional<std::string> tagged_subject(const std::optional<std::string>& raw, std::string_view tag,
                                          std::string_view eol) {
  if (!raw) return " " + std::string(tag);
  const std::string decoded = decode_header_text(*raw);
  if (core::icontains(decoded, tag)) return std::nullopt;
  std::string_view rest = *raw;
  rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" \t\r\n")));
  const bool ascii_tag = std::all_of(tag.begin(), tag.end(), [](char c) { return c >= ' ' && c <= '~'; });
  if (ascii_tag && !core::istarts_with(rest, "=?")) {
    std::string value = " " + std::string(tag);
    if (!rest.empty()) value += " " + std::string(rest);
    return value;
  }
  try {
    return encode_header_text("Subject", std::string(tag) + " " + decoded, eol);
  } catch (const std::invalid_argument&) {
    return encode_header_text("Subject", core::escape_controls(std::string(tag) + " " + decoded), eol);
  }
}

}  // namespace postern::mime
