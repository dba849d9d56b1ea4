// NAME
//   catalog - every condition and action of the policy language, declared once
// SUMMARY
//   for (const Declaration& d : condition_declarations()) print(d.name, d.doc);
//   std::string md = reference_markdown();   // the tables in docs/policy.md
// DESCRIPTION
//   The loader compiles conditions and actions through the same table these
//   declarations come from, so the reference, the error messages ("unknown
//   condition 'x'; known: ...") and the code cannot drift apart. A unit test
//   compares reference_markdown() with the generated part of docs/policy.md.
// THREADS
//   Static tables; read-only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern::policy {

struct Declaration {
  std::string_view name;
  std::string_view argument;  // what the value looks like
  std::string_view doc;
};

const std::vector<Declaration>& condition_declarations();
const std::vector<Declaration>& action_declarations();

// Two Markdown tables (conditions, actions) with name, argument and doc.
std::string reference_markdown();

}  // namespace postern::policy
