// NAME
//   header_edit - the header changes that turn one header list into another
// SUMMARY
//   std::vector<Field> after = fields_of(transformed_message);
//   apply_header_changes(before, after, actions);   // at end of message
// DESCRIPTION
//   A transform (smime::sign_message, open_message, ...) returns a whole
//   message; the milter can only edit the message Postfix holds. Fields are
//   compared per name (ASCII case ignored), in order: the i-th field of a
//   name that differs is changed in place, fields the result no longer has
//   are deleted (last first, so every index still names the field it
//   meant), and fields only the result has are added at the end. Values
//   are compared and written as libmilter passes them: after the colon,
//   leading space kept, folds as LF.
// THREADS
//   Pure functions apart from the calls on `actions`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "postern/milter/actions.hpp"

namespace postern::crypto {

struct Field {
  std::string name;
  std::string value;  // as libmilter passes it: leading space kept, folds as LF
};

// The header fields at the start of `message` (CRLF or LF), values as
// libmilter would pass them. Throws mime::LimitError over the header limits.
std::vector<Field> fields_of(std::string_view message);

// "Name:value" lines with CRLF, folds as CRLF, and the blank line: the
// header block of a message as the transforms read it.
std::string header_block(const std::vector<Field>& fields);

// Returns how many modifications were made.
int apply_header_changes(const std::vector<Field>& before, const std::vector<Field>& after, milter::Actions& actions);

}  // namespace postern::crypto
