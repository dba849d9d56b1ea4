// NAME
//   content_type - Content-Type and Content-Disposition values (RFC 2045,
//   RFC 2183) with RFC 2231 parameters
// SUMMARY
//   auto type = ContentType::parse(header.raw_value);
//   if (type && type->is("multipart")) boundary = type->param("boundary");
// DESCRIPTION
//   Names and types are lowercased; parameter values are unquoted. RFC 2231
//   forms (name*=charset'lang'%XX, name*0= / name*1*= continuations) are
//   joined and converted to UTF-8 and win over a plain parameter of the same
//   name; one whose charset is unknown keeps its raw text. Comments are
//   skipped. Parsing is lenient the way real senders need: unquoted values
//   may hold any byte but whitespace and ';', junk between parameters is
//   skipped, and the first of duplicate parameters wins.
// THREADS
//   Values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mime {

struct Param {
  std::string name;   // lowercase, without RFC 2231 "*" suffixes
  std::string value;  // unquoted; RFC 2231 decoded to UTF-8
};

struct ContentType {
  std::string type = "text";  // lowercase
  std::string subtype = "plain";
  std::vector<Param> params;

  // nullopt when the value has no "type/subtype" (RFC 2045 §5.2 then
  // prescribes text/plain).
  static std::optional<ContentType> parse(std::string_view raw_value);

  const std::string* param(std::string_view name) const noexcept;
  // Case-insensitive; an empty subtype matches any.
  bool is(std::string_view type_name, std::string_view subtype_name = {}) const noexcept;
};

struct ContentDisposition {
  std::string type;  // lowercase: "inline", "attachment", ...; "" when absent
  std::vector<Param> params;

  static ContentDisposition parse(std::string_view raw_value);

  const std::string* param(std::string_view name) const noexcept;
};

}  // namespace postern::mime
