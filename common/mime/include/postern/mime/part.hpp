// NAME
//   part - a message as a tree of MIME parts, located by byte offsets
// SUMMARY
//   Part root = parse_message(bytes);
//   for (const Part& child : root.children)
//     if (child.content_type.is("application", "pkcs7-signature")) ...
//   std::string_view untouched = child.whole().of(bytes);   // copy byte-exact
// DESCRIPTION
//   parse_message() reads a whole message (header block, blank line, body)
//   into a tree: each Part has its parsed header block, effective
//   Content-Type (text/plain when absent or invalid, message/rfc822 inside
//   multipart/digest), transfer encoding and disposition, and the offsets of
//   its header block and body in the input. The tree owns no message bytes:
//   ranges are resolved against the same input with Range::of(), so a part
//   nobody transforms is copied exactly as it came.
//
//   Boundaries follow RFC 2046: a delimiter line is "--boundary" (plus "--"
//   to close), optional whitespace, then CRLF, LF or the end; the line break
//   before a delimiter belongs to the delimiter, not to the part above it.
//   A message/rfc822 part (identity transfer encoding only) has the
//   embedded message as its one child.
//
//   Broken MIME never throws: a multipart without a boundary parameter or
//   without any delimiter stays a leaf, a missing close delimiter ends the
//   last part at the end of its parent; each such repair is listed in the
//   part's defects so a caller can refuse to sign or encrypt what it cannot
//   represent faithfully.
// THREADS
//   Values.
// DIAGNOSTICS
//   LimitError when nesting is deeper than max_depth, the tree has more than
//   max_parts parts, or a header block exceeds its limits.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/mime/content_type.hpp"
#include "postern/mime/header.hpp"

namespace postern::mime {

// Byte offsets [begin, end) into the parsed message.
struct Range {
  std::size_t begin = 0;
  std::size_t end = 0;

  std::size_t size() const noexcept { return end - begin; }
  std::string_view of(std::string_view message) const noexcept { return message.substr(begin, end - begin); }
  bool operator==(const Range&) const = default;
};

enum class Defect {
  header_not_terminated,    // no blank line after the header block
  bad_header_line,          // a header line that is not a field: the body starts there
  invalid_content_type,     // no type/subtype: treated as text/plain
  missing_boundary,         // multipart without a boundary parameter: a leaf
  no_delimiter,             // multipart body without any delimiter line: a leaf
  missing_close_delimiter,  // the last part runs to the end of its parent
};

const char* to_string(Defect defect) noexcept;

struct MimeLimits {
  std::size_t max_depth = 100;  // the root is depth 0
  std::size_t max_parts = 10000;
  HeaderLimits headers;
};

struct Part {
  HeaderBlock headers;
  ContentType content_type;
  std::string transfer_encoding = "7bit";  // lowercase token
  ContentDisposition disposition;
  Range header;    // the header block, blank line included
  Range body;      // from after the blank line to the end of the part
  Range preamble;  // multipart: before the first delimiter
  Range epilogue;  // multipart: after the close delimiter line
  std::vector<Part> children;
  std::vector<Defect> defects;

  Range whole() const noexcept { return {header.begin, body.end}; }
  bool has(Defect defect) const noexcept;
  // Content-Disposition filename, else Content-Type name; RFC 2231 and
  // (as clients write it) RFC 2047 decoded. "" when neither is given.
  std::string filename() const;
  // The body with its transfer encoding undone. nullopt for damaged base64
  // or an encoding we do not know (x-uuencode...).
  std::optional<std::string> decoded_body(std::string_view message) const;
};

Part parse_message(std::string_view message, const MimeLimits& limits = {});

}  // namespace postern::mime
