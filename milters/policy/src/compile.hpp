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
#include <unordered_map>
#include <vector>

#include "postern/config/node.hpp"
#include "postern/core/error.hpp"
#include "postern/policy/pattern.hpp"
#include "postern/policy/policy.hpp"

namespace postern::policy::detail {

// The policy-level settings conditions compile against.
struct Settings {
  std::unordered_map<std::string, std::string> groups;  // name -> directory group (DN)
  std::string authserv_id;                              // lowercase; "" when not set
  std::vector<std::pair<std::string, std::string>> licensed_groups;  // name, DN
  std::vector<std::shared_ptr<const AddressMatcher>> licensed_lists;
  bool licensing_configured = false;
};

struct CompileContext {
  const NamedLists* lists;
  std::vector<core::Diagnostic>& diagnostics;
  const Settings* settings = nullptr;

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
// The node as YAML flow text that loads back to the same node: scalars
// plain when that is safe, else single- or double-quoted.
std::string flow_yaml(const config::Node& node);
std::string yaml_scalar(std::string_view text);

}  // namespace postern::policy::detail
