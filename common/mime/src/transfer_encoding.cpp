#include "postern/mime/transfer_encoding.hpp"

#include <cstdint>

#include "text.hpp"

namespace postern::mime {

namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t accumulator = 0;
  int bits = 0;
  std::size_t data_chars = 0;
  std::size_t padding = 0;
  for (char c : text) {
    if (is_space(c)) {
      continue;
    }
    if (c == '=') {
      if (++padding > 2) {
        return std::nullopt;
      }
      continue;
    }
    int value = base64_value(c);
    if (value < 0 || padding > 0) {
      return std::nullopt;
    }
    ++data_chars;
    accumulator = (accumulator << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((accumulator >> bits) & 0xFF);
    }
  }
  std::size_t remainder = data_chars % 4;
  if (remainder == 1 || (padding > 0 && (remainder == 0 || remainder + padding != 4))) {
    return std::nullopt;
  }
  return out;
}

std::string encode_base64(std::string_view bytes, std::size_t line_length, std::string_view eol) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4 * (line_length > 0 ? 2 : 1));
  std::size_t column = 0;
  auto put = [&](char c) {
    out += c;
    if (line_length > 0 && ++column == line_length) {
      out += eol;
      column = 0;
    }
  };
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::size_t n = bytes.size() - i < 3 ? bytes.size() - i : 3;
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      group = (group << 8) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0U);
    }
    for (std::size_t j = 0; j < 4; ++j) {
      put(j <= n ? kAlphabet[(group >> (18 - 6 * j)) & 0x3F] : '=');
    }
  }
  if (line_length > 0 && column > 0) {
    out += eol;
  }
  return out;
}

std::string decode_quoted_printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::size_t line_end = nl == std::string_view::npos ? text.size() : nl;
    std::size_t content_end = (line_end > pos && text[line_end - 1] == '\r') ? line_end - 1 : line_end;
    std::string_view eol = text.substr(content_end, (nl == std::string_view::npos ? line_end : nl + 1) - content_end);
    std::string_view line = text.substr(pos, content_end - pos);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    bool soft_break = !line.empty() && line.back() == '=';
    if (soft_break) {
      line.remove_suffix(1);
    }
    for (std::size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '=' && i + 2 < line.size()) {
        int high = detail::hex_value(line[i + 1]);
        int low = detail::hex_value(line[i + 2]);
        if (high >= 0 && low >= 0) {
          out += static_cast<char>(high * 16 + low);
          i += 2;
          continue;
        }
      }
      out += line[i];
    }
    if (!soft_break) {
      out += eol;
    }
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  return out;
}

}  // namespace postern::mime
