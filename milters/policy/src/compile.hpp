// NAME
//   compile - turns policy YAML nodes into conditions and actions (internal)
// DESCRIPTION
//   Used by the loader only. Every problem becomes a diagnostic with the
//   node's location; what fails to compile is left out, so one pass finds
//   every problem in a file.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "postern/config/node.hpp"
#include "postern/core/error.hpp"
#include "postern/policy/pattern.hpp"
#include "postern/policy/policy.hpp"

namespace postern::policy::detail {

struct CompileContext {
  const NamedLists* lists;
  std::vector<core::Diagnostic>& diagnostics;

  void error(const core::Location& where, std::string message) const {
    diagnostics.push_back({where, std::move(message), core::Diagnostic::Severity::error});
  }
};

// A `when` mapping: one condition per key, all of which must match.
std::unique_ptr<const Condition> compile_when(const config::Node& when, const CompileContext& context);
std::optional<Action> compile_action(const config::Node& item, const CompileContext& context);

// One-line flow form of a node ("{recipient: [a@b, c@d]}"): condition texts
// in traces and the canonical form used to find shadowed rules.
std::string render(const config::Node& node);

}  // namespace postern::policy::detail
