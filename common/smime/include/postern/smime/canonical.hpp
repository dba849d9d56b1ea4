// NAME
//   canonical - a MIME entity made ready to be signed (RFC 8551 §3.1)
// SUMMARY
//   std::string entity = smime::canonical_entity(content_headers, body);
// DESCRIPTION
//   Signatures are over bytes, and mail transport changes bytes: line
//   endings, 8-bit data, long lines. canonical_entity() returns the entity
//   every client will see unchanged: each part whose content is not 7-bit
//   clean (bytes >= 0x80, NUL, bare CR, lines over 998 octets) and that is
//   sent as 7bit/8bit/binary is re-encoded, text/* as quoted-printable and
//   everything else as base64, with its Content-Transfer-Encoding field
//   replaced; multiparts and message/rfc822 parts are walked recursively
//   and their delimiters, preambles and epilogues kept. Then every line
//   ends in CRLF. The input's header fields are kept byte for byte apart
//   from the line breaks.
// THREADS
//   Pure function.
// DIAGNOSTICS
//   mime::LimitError for input over the MIME limits.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "postern/mime/part.hpp"

namespace postern::smime {

// `entity` is a header block (Content-* fields), the blank line and a body.
std::string canonical_entity(std::string_view entity, const mime::MimeLimits& limits = {});

// Appends the canonical root entity of `message` to `out`, with
// `root_fields` (serialized with CRLF) in place of the root's header
// fields: how a whole message becomes the entity to protect without a
// separate copy of it.
void append_canonical(std::string& out, std::string_view message, const std::vector<mime::Header>& root_fields,
                      const mime::MimeLimits& limits = {});

// "\n" not preceded by "\r" becomes "\r\n"; nothing else changes.
std::string to_crlf(std::string_view text);

// Quoted-printable (RFC 2045 §6.7) of text with CRLF line breaks kept as
// hard breaks, lines at most 76 characters, trailing whitespace encoded.
std::string encode_quoted_printable(std::string_view text);

}  // namespace postern::smime
