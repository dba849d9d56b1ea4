// NAME
//   transfer_encoding - base64 and quoted-printable (RFC 2045 §6)
// SUMMARY
//   if (auto bytes = decode_base64(part_body)) use(*bytes);
//   std::string text = decode_quoted_printable(part_body);
// DESCRIPTION
//   Base64 is decoded strictly apart from whitespace: a byte outside the
//   alphabet means the data is damaged, and guessing around it would hand a
//   signature check or a virus scanner different bytes than the recipient's
//   client sees. Quoted-printable is decoded leniently, as RFC 2045 asks:
//   a '=' that does not start a valid escape is kept as it is.
// THREADS
//   Pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace postern::mime {

// SP, HT, CR and LF are skipped anywhere. Missing final padding is accepted.
// nullopt for any other byte outside the alphabet, data after padding, too
// much padding, or a lone trailing character.
std::optional<std::string> decode_base64(std::string_view text);

// Padded base64. With line_length > 0 a line break follows every
// line_length characters and the last line (RFC 2045 uses 76).
std::string encode_base64(std::string_view bytes, std::size_t line_length = 0, std::string_view eol = "\r\n");

// Soft line breaks ("=" at the end of a line) removed, "=XX" decoded (hex in
// either case), whitespace at the end of each line dropped; line breaks are
// kept as they were (CRLF or LF). Never fails.
std::string decode_quoted_printable(std::string_view text);

}  // namespace postern::mime
