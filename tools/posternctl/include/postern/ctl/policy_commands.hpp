// NAME
//   policy_commands - posternctl policy check | explain | reference
// SUMMARY
//   posternctl policy check /etc/postern/policy-rules.yaml
//   posternctl policy explain --from a@example.org --rcpt b@example.net msg.eml
//   posternctl policy dump /etc/postern/policy-rules.yaml
// DESCRIPTION
//   check loads each file exactly as postern-policy does (drop-in folder,
//   list files) and prints one "FILE:LINE:COL: message" line per problem,
//   warnings included; exit 1 when any file has an error.
//   explain is the dry run: for each recipient, each rule in order, which
//   conditions matched and which did not with the values seen, the
//   resulting disposition and plan, then the recipient groups; --json gives
//   the same as one JSON object. Both use the milter's loader and evaluator.
//   Lookup conditions (directory, key store) have no live sources in
//   posternctl: without --assume they fail, so explain shows the tempfail a
//   milter would give with its directory down; --assume FILE answers them
//   from a YAML file of assumed directory entries and keys (docs/policy.md).
//   dump prints the effective policy after includes as YAML.
//   reference prints the condition and action tables of docs/policy.md.
// THREADS
//   Single-threaded, like the rest of posternctl.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "postern/ctl/dispatcher.hpp"
#include "postern/policy/facts.hpp"
#include "postern/policy/policy.hpp"

namespace postern::ctl {

inline constexpr char kDefaultPolicyFile[] = "/etc/postern/policy-rules.yaml";

struct ExplainOptions {
  std::string policy_file = kDefaultPolicyFile;
  std::string message_file;
  bool policy_file_given = false;  // -c given: it wins over the milter config's policy.rules
  std::string milter_config;       // postern-policy's config: its directory and key store; "" for none
  std::string assume_file;  // assumed directory and key-store answers; "" for none
  policy::Envelope envelope;
  bool json = false;
};

// Throws UsageError for a missing or malformed option.
ExplainOptions parse_explain_options(const std::vector<std::string>& args);
int policy_check(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);
int policy_explain(const ExplainOptions& options, std::ostream& out, std::ostream& err);
// FILE defaults to kDefaultPolicyFile.
int policy_dump(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// Services answering from an --assume file; throws core::ConfigError.
policy::Services assumed_services(const std::string& file, const policy::Policy& policy);

void add_policy_commands(Dispatcher& d);

}  // namespace postern::ctl
