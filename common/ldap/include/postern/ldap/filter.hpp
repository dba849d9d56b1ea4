// NAME
//   filter - LDAP search filters built from untrusted values (RFC 4515)
// SUMMARY
//   expand_filter("(|(mail=%s)(mailAlternateAddress=%s))", address);
//   escape_filter_value("*)(uid=*");   // "\2a\29\28uid=\2a"
// DESCRIPTION
//   escape_filter_value() escapes the characters RFC 4515 reserves in an
//   assertion value ( * ( ) \ NUL ) and, beyond the RFC, every other control
//   character and DEL, so a value can never change a filter's structure.
//   expand_filter() replaces every %s of a configured template with the
//   escaped value; %% stands for a literal %.
//   valid_attribute_name() accepts an attribute description: a name
//   (letter, then letters, digits, hyphens) or a numeric OID, with
//   ;options (userCertificate;binary).
// THREADS
//   Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace postern::ldap {

std::string escape_filter_value(std::string_view value);
std::string expand_filter(std::string_view tmpl, std::string_view value);
bool valid_attribute_name(std::string_view name) noexcept;

}  // namespace postern::ldap
