// NAME
//   filter_headers - header edits of postern-policy, as milter actions and on copies
// DESCRIPTION
//   Fields are kept as libmilter passes them (value with its leading space,
//   folds as "\n" + whitespace). The same edits are done two ways: with
//   milter actions for the group that stays in the transaction, and on the
//   bytes of a re-submitted copy, so both end up with the same header:
//   X-Postern-* removed, the plan's remove_headers removed (every field of
//   the name), the first Subject tagged (or a Subject added), add_headers
//   appended, then the sealed plan appended.
//   A subject already containing the tag (ASCII case ignored, decoded) is
//   left alone, so a message that passes twice is not tagged twice.
// THREADS
//   Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/milter/actions.hpp"
#include "postern/plan/plan.hpp"

namespace postern::policy::detail {

struct Field {
  std::string name;
  std::string value;
};

bool is_internal_header(std::string_view name) noexcept;

// The new raw Subject value, or nullopt when it already carries the tag.
std::optional<std::string> tagged_subject(const std::optional<std::string>& raw, std::string_view tag);

// "Name:value\r\n" per field, folds as CRLF, then the empty line.
std::string header_block(const std::vector<Field>& fields);

// The header of a copy: fields edited by the plan's header edits, and
// X-Postern-Plan with `sealed` appended.
std::vector<Field> edited_fields(const std::vector<Field>& fields, const plan::Plan& edits, const std::string& sealed);

// Removes every X-Postern-* field with milter actions; returns how many.
int strip_internal(const std::vector<Field>& fields, milter::Actions& actions);
// The plan's header edits with milter actions (after strip_internal).
void apply_edits(const std::vector<Field>& fields, const plan::Plan& edits, milter::Actions& actions);

}  // namespace postern::policy::detail
