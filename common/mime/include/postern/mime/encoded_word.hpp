// NAME
//   encoded_word - RFC 2047 encoded words, both ways
// SUMMARY
//   std::string subject = decode_header_text(header.raw_value);   // UTF-8
//   std::string raw = encode_header_text("Subject", "[secure] " + subject);
//   actions.change_header("Subject", 1, raw);
// DESCRIPTION
//   decode_header_text() unfolds a raw header value, decodes every encoded
//   word ("=?charset?B|Q?text?=") to UTF-8 and trims surrounding whitespace.
//   Whitespace between two adjacent encoded words is dropped (RFC 2047
//   §6.2). Encoded words are recognised even when glued to other text, as
//   mail clients do. A word that cannot be decoded (damaged base64 or Q
//   text, a charset not on the supported list, bytes invalid in their
//   charset) is kept literally rather than guessed at. Bytes outside encoded
//   words are kept as they are (RFC 6532 allows raw UTF-8). The result may
//   hold any byte a sender encoded, CR, LF and NUL included: escape it before
//   logging, encode it before writing it into a header.
//
//   encode_header_text() turns UTF-8 text into a raw header value (starting
//   with a space, as after "Name:"): words that are printable ASCII stay
//   readable, runs of other words become UTF-8 encoded words of at most 75
//   characters, never splitting a character, and lines are folded to 76
//   columns counting the field name. Control characters (CR and LF
//   included) are always encoded, so text cannot inject header lines.
//   decode_header_text(encode_header_text(n, t)) == trim(t) for valid UTF-8.
//
//   tagged_subject() puts a tag in front of a raw Subject value (nullopt:
//   no Subject yet) and returns the new raw value, or nullopt when the
//   decoded Subject already contains the tag (ignoring ASCII case). An ASCII
//   tag before a Subject that does not start with an encoded word is
//   inserted as it is; otherwise the whole Subject is written anew (the
//   space between a tag and an encoded word could otherwise vanish).
// THREADS
//   Pure functions.
// DIAGNOSTICS
//   encode_header_text() throws std::invalid_argument for text that is not
//   valid UTF-8. decode_header_text() never throws on bad input.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern::mime {

std::string decode_header_text(std::string_view raw_value);

std::string encode_header_text(std::string_view field_name, std::string_view utf8, std::string_view eol = "\r\n");

std::optional<std::string> tagged_subject(const std::optional<std::string>& raw, std::string_view tag,
                                          std::string_view eol = "\n");

}  // namespace postern::mime
