// NAME
//   text - byte and charset helpers private to the mime library
// DESCRIPTION
//   Charset conversion goes through iconv, but only for a fixed list of
//   charsets seen in real mail: the name comes from the message, and an
//   open list would let any sender pick which gconv module we load.
// THREADS
//   Reentrant; each call opens its own iconv descriptor.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace postern::mime::detail {

// 0-15 for a hex digit (either case), -1 otherwise.
int hex_value(char c) noexcept;

// Length of the well-formed UTF-8 sequence starting at s[pos] (1-4), or 0
// when the bytes there are not one (overlong, surrogate, truncated...).
std::size_t utf8_sequence_length(std::string_view s, std::size_t pos) noexcept;
bool is_valid_utf8(std::string_view s) noexcept;

// bytes in the named charset (case-insensitive, with or without an RFC 2231
// "*lang" suffix) converted to UTF-8. nullopt for a charset not on the list
// or for bytes that are invalid in it.
std::optional<std::string> to_utf8(std::string_view charset, std::string_view bytes);

}  // namespace postern::mime::detail
