// NAME
//   policy - the rule language of postern-policy: load, check, evaluate
// SUMMARY
//   std::shared_ptr<const Policy> p = Policy::load("/etc/postern/policy.yaml");
//   MessageDecision d = p->decide_message(envelope, MessageFacts::from_message(bytes));
//   for (const plan::Plan& group : d.groups) ...
// DESCRIPTION
//   A policy is an ordered list of rules (docs/policy.md has the language).
//   For each recipient every rule is tried in order; the actions of every
//   matching rule accumulate until a matching rule with `stop: true`. The
//   accumulated actions then resolve by precedence:
//     reject > hold > discard > transforms
//   (the first rule to set the winning disposition supplies its text); among
//   transforms, flags (sign, decrypt, verify) add up, header edits add up
//   without duplicates, and single-valued ones (encrypt, incamail,
//   subject_tag) keep the value of the first rule that set them.
//   `no_processing` empties the transforms but not a disposition.
//
//   Policy::load reads the main file and, when it has `include: DIR`, every
//   *.yaml file of DIR in byte order of the names. The one merge rule:
//   included files may hold `lists` and `rules` only; their rules come after
//   the main file's rules, file by file; a name (list or rule) may be defined
//   once across all files. Lists are known in every file whichever file
//   defines them.
//
//   Conditions and actions are declared once in catalog.cpp; the loader,
//   the error messages and the reference in docs/policy.md come from those
//   declarations (catalog.hpp).
// DIAGNOSTICS
//   load() throws core::ConfigError with every error and warning found,
//   sorted by file, line and column, when there is at least one error;
//   otherwise warnings() lists the warnings (unreachable and shadowed rules,
//   empty include folder). Evaluation never throws for message content.
// THREADS
//   A loaded Policy is immutable: evaluate from any number of threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "postern/core/error.hpp"
#include "postern/core/net.hpp"
#include "postern/plan/plan.hpp"
#include "postern/policy/facts.hpp"

namespace postern::policy {

enum class Direction { inbound, outbound };
// Ascending precedence: a later value wins over an earlier one.
enum class Disposition { accept, discard, hold, reject };

const char* to_string(Direction d) noexcept;    // "inbound", "outbound"
const char* to_string(Disposition d) noexcept;  // "accept", "discard", "hold", "reject"

// How a message's direction is derived: outbound when the client is in an
// internal network, authenticated with SASL (unless turned off), or came in
// on an outbound listener; inbound otherwise.
struct DirectionSettings {
  std::vector<core::Network> internal_networks;
  std::vector<std::string> outbound_listeners;
  bool authenticated_is_outbound = true;
};

// What one evaluation looks at: the message and one of its recipients.
struct Subject {
  const Envelope& envelope;
  const MessageFacts& facts;
  Direction direction;
  std::string direction_reason;  // "internal network", "authenticated", "listener", "default"
  std::string sender;            // normalize_address() forms
  std::string recipient;
};

struct ConditionTrace {
  std::string condition;  // as written, e.g. "recipient: list:partners"
  core::Location where;
  int depth = 0;  // nesting under all/any/not
  bool matched = false;
  std::string seen;  // the value the condition looked at
};

class Condition {
 public:
  Condition(std::string text, core::Location where) : text_(std::move(text)), where_(std::move(where)) {}
  virtual ~Condition() = default;
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  // With trace, every sub-condition is evaluated (no short cut) and recorded.
  virtual bool test(const Subject& subject, std::vector<ConditionTrace>* trace, int depth) const = 0;
  const std::string& text() const noexcept { return text_; }
  const core::Location& where() const noexcept { return where_; }

 private:
  std::string text_;
  core::Location where_;
};

struct Action {
  enum class Kind {
    no_processing, reject, hold, discard, encrypt, sign, decrypt, verify, incamail, add_header, remove_header,
    subject_tag
  };
  Kind kind = Kind::no_processing;
  std::string text;  // reject text, hold reason, header name, subject tag
  std::string value;  // add_header value
  plan::EncryptMethod method = plan::EncryptMethod::none;
  plan::EncryptFallback fallback = plan::EncryptFallback::bounce;
  plan::IncaMailType incamail = plan::IncaMailType::none;
  core::Location where;
};

struct Rule {
  std::string name;
  std::string description;
  core::Location where;
  std::unique_ptr<const Condition> when;  // nullptr: every message
  std::string when_text;                  // canonical text of `when`, "" when absent
  std::vector<Action> actions;
  bool stop = false;
};

struct RuleTrace {
  const Rule* rule = nullptr;
  bool evaluated = false;  // false: an earlier rule stopped evaluation
  bool matched = false;
  std::vector<ConditionTrace> conditions;
};

struct Decision {
  Disposition disposition = Disposition::accept;
  std::string text;        // reject text or hold reason
  std::string decided_by;  // the rule that set the disposition
  plan::Plan transforms;   // recipients left empty
  bool no_processing = false;
  std::vector<std::string> matched_rules;
  std::string stopped_by;  // the rule whose stop ended evaluation, "" when none
};

struct RecipientDecision {
  std::string recipient;  // as in the envelope
  Decision decision;
};

struct MessageDecision {
  Direction direction = Direction::inbound;
  std::vector<RecipientDecision> recipients;
  // Accepted recipients grouped by identical transforms, in envelope order
  // of each group's first recipient; each plan carries its recipients as
  // written in the envelope.
  std::vector<plan::Plan> groups;
  // The strongest disposition of any recipient.
  Disposition strongest = Disposition::accept;
};

class Policy {
 public:
  static std::shared_ptr<const Policy> load(const std::string& path);

  Subject subject(const Envelope& envelope, const MessageFacts& facts, std::string_view recipient) const;
  Decision decide(const Subject& subject, std::vector<RuleTrace>* trace = nullptr) const;
  MessageDecision decide_message(const Envelope& envelope, const MessageFacts& facts) const;

  const std::vector<Rule>& rules() const noexcept { return rules_; }
  const std::vector<core::Diagnostic>& warnings() const noexcept { return warnings_; }
  // Every file read: the main file, drop-in files, list files.
  const std::vector<std::string>& files() const noexcept { return files_; }
  const DirectionSettings& direction_settings() const noexcept { return direction_; }

 private:
  friend class Loader;
  Policy() = default;

  std::vector<Rule> rules_;
  DirectionSettings direction_;
  std::vector<core::Diagnostic> warnings_;
  std::vector<std::string> files_;
};

}  // namespace postern::policy
