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
//     tempfail > reject > hold > discard > transforms
//   (the first rule to set the winning disposition supplies its text); among
//   transforms, flags (sign, decrypt, verify) add up, header edits add up
//   without duplicates, and single-valued ones (encrypt, incamail,
//   subject_tag) keep the value of the first rule that set them.
//   `no_processing` empties the transforms but not a disposition. The
//   generic actions (redirect, forward, acknowledge, alert, generate_keys)
//   accumulate into Decision without duplicates.
//   decide_message() evaluates a rule whose conditions do not depend on the
//   recipient once per message and reuses the answer for the others.
//
//   Policy::load reads the main file and, when it has `include: DIR`, every
//   *.yaml file of DIR in byte order of the names. The one merge rule:
//   included files may hold `lists` and `rules` only; their rules come after
//   the main file's rules, file by file; a name (list or rule) may be defined
//   once across all files. Lists are known in every file whichever file
//   defines them.
//
//   Lookups: conditions on the directory (group membership, attributes,
//   licensed) and the key store (key_available) ask the Services given to
//   load(). A lookup that fails (directory down, no service configured)
//   never reads as "false": the condition is `failed`, which all/any/not
//   propagate by three-valued logic (a definite answer elsewhere still
//   decides), and a rule whose `when` fails makes the recipient's decision
//   `tempfail` with the lookup error as text, ending evaluation. With
//   `on_lookup_error: continue` the failed condition counts as false and
//   the trace says so. Policy::load(path) without services accepts lookup
//   conditions (posternctl policy check); evaluating one then fails with
//   "no directory configured".
//
//   Conditions and actions are declared once in catalog.cpp; the loader,
//   the error messages and the reference in docs/policy.md come from those
//   declarations (catalog.hpp).
// DIAGNOSTICS
//   load() throws core::ConfigError with every error and warning found,
//   sorted by file, line and column, when there is at least one error;
//   otherwise warnings() lists the warnings (unreachable and shadowed rules,
//   empty include folder). Evaluation never throws for message content;
//   lookup failures become tempfail (above), never exceptions.
// THREADS
//   A loaded Policy is immutable: evaluate from any number of threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "postern/core/error.hpp"
#include "postern/core/net.hpp"
#include "postern/lookup/directory.hpp"
#include "postern/lookup/keys.hpp"
#include "postern/plan/plan.hpp"
#include "postern/policy/facts.hpp"

namespace postern::policy {

enum class Direction { inbound, outbound };
// Ascending precedence: a later value wins over an earlier one. tempfail is
// never written by a rule: it is the outcome when a lookup a matching
// decision needed failed and its on_error setting says tempfail.
enum class Disposition { accept, discard, hold, reject, tempfail };

const char* to_string(Direction d) noexcept;    // "inbound", "outbound"
const char* to_string(Disposition d) noexcept;  // "accept", "discard", "hold", "reject", "tempfail"

// How a message's direction is derived: outbound when the client is in an
// internal network, authenticated with SASL (unless turned off), or came in
// on an outbound listener; inbound otherwise.
struct DirectionSettings {
  std::vector<core::Network> internal_networks;
  std::vector<std::string> outbound_listeners;
  bool authenticated_is_outbound = true;
};

// The outside sources of truth lookup conditions ask. Either may be null:
// a condition that needs a missing one fails (see on_lookup_error).
struct Services {
  std::shared_ptr<const lookup::Directory> directory;
  std::shared_ptr<const lookup::KeyFinder> keys;
};

// What a failed lookup means: tempfail the recipient (the default), or
// count the condition as false (`on_lookup_error: continue`).
enum class OnLookupError { tempfail, proceed };

// A condition's answer: failed when a lookup it needed failed.
enum class Truth { no, yes, failed };

// What one evaluation looks at: the message and one of its recipients.
struct Subject {
  const Envelope& envelope;
  const MessageFacts& facts;
  Direction direction;
  std::string direction_reason;  // "internal network", "authenticated", "listener", "default"
  std::string sender;            // normalize_address() forms
  std::string recipient;
  const Services* services = nullptr;  // set by Policy::subject()
  OnLookupError on_lookup_error = OnLookupError::tempfail;
  // The first lookup error of the condition being evaluated (evaluation
  // state; one Subject per evaluating thread).
  mutable std::string lookup_error;
  // Directory answers already given for this recipient's evaluation
  // ("ADDRESS\nATTRIBUTE" or "ADDRESS\n\nGROUP"), so that many rules on the
  // same attribute or group ask once.
  mutable std::vector<std::pair<std::string, lookup::Lookup<std::vector<std::string>>>> attribute_answers;
  mutable std::vector<std::pair<std::string, lookup::Lookup<bool>>> member_answers;
};

struct ConditionTrace {
  std::string condition;  // as written, e.g. "recipient: list:partners"
  core::Location where;
  int depth = 0;  // nesting under all/any/not
  bool matched = false;
  std::string seen;  // the value the condition looked at, lookup answers included
  bool failed = false;  // a lookup it needed failed (and was not counted as false)
};

class Condition {
 public:
  Condition(std::string text, core::Location where) : text_(std::move(text)), where_(std::move(where)) {}
  virtual ~Condition() = default;
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  // With trace, every sub-condition is evaluated (no short cut) and recorded.
  virtual Truth test(const Subject& subject, std::vector<ConditionTrace>* trace, int depth) const = 0;
  const std::string& text() const noexcept { return text_; }
  const core::Location& where() const noexcept { return where_; }
  // Relative cost of evaluating: all/any try cheap parts first when not
  // tracing (lookups last), which never changes a result.
  virtual int cost() const noexcept { return 1; }
  // Whether the answer can differ between recipients of one message; when
  // not, decide_message() evaluates the condition once per message.
  virtual bool per_recipient() const noexcept { return true; }
  // For a conjunction: its parts that do not depend on the recipient (when
  // one of them is false, so is the whole, for every recipient).
  virtual void independent_conjuncts(std::vector<const Condition*>& /*out*/) const {}

 private:
  std::string text_;
  core::Location where_;
};

struct Action {
  enum class Kind {
    no_processing, reject, hold, discard, encrypt, sign, decrypt, verify, incamail, add_header, remove_header,
    subject_tag, change_header, acknowledge, alert, generate_keys, redirect, forward, revocation, security_tag
  };
  Kind kind = Kind::no_processing;
  std::string text;  // reject text, hold reason, header name, subject tag, acknowledge/alert text
  std::string value;  // add_header / change_header value
  std::vector<std::string> addresses;  // alert, redirect and forward targets
  plan::EncryptMethod method = plan::EncryptMethod::none;
  plan::EncryptFallback fallback = plan::EncryptFallback::bounce;
  plan::IncaMailType incamail = plan::IncaMailType::none;
  plan::ContentCipher cipher = plan::ContentCipher::automatic;  // encrypt
  bool remove_signature = false;                                // verify
  plan::Revocation revocation = plan::Revocation::inherit;      // revocation
  plan::SecurityTags tags;                                      // security_tag
  core::Location where;
  std::string yaml;  // the action as written, in YAML flow form (policy dump)
};

struct Rule {
  std::string name;
  std::string description;
  core::Location where;
  std::unique_ptr<const Condition> when;  // nullptr: every message
  bool per_recipient = true;              // when->per_recipient()
  std::vector<const Condition*> gate;     // when->independent_conjuncts() of a per-recipient `when`
  std::string when_text;                  // canonical text of `when`, "" when absent
  std::string when_yaml;                  // `when` in YAML flow form (policy dump), "" when absent
  std::vector<Action> actions;
  bool stop = false;
};

struct RuleTrace {
  const Rule* rule = nullptr;
  bool evaluated = false;  // false: an earlier rule stopped evaluation
  bool matched = false;
  bool failed = false;  // `when` failed on a lookup: the recipient tempfails
  std::vector<ConditionTrace> conditions;
};

// A message Postern writes itself (acknowledgement to the sender, alert to
// an admin), submitted like a re-injected copy.
struct Notice {
  enum class Kind { acknowledge, alert };
  Kind kind = Kind::acknowledge;
  std::vector<std::string> to;  // acknowledge: empty, meaning the envelope sender
  std::string text;             // the admin's text; may hold ${placeholders}
  std::string rule;             // the rule that asked for it
  bool operator==(const Notice&) const = default;
};

struct Decision {
  Disposition disposition = Disposition::accept;
  std::string text;        // reject text, hold reason or (tempfail) the failed lookup
  std::string decided_by;  // the rule that set the disposition (tempfail: whose `when` failed)
  plan::Plan transforms;   // recipients left empty
  bool no_processing = false;
  // Generic actions postern-policy performs itself. redirect replaces the
  // recipient by `redirect_to` (which then get this recipient's transforms);
  // forward adds `forward_to` as further recipients with the same
  // transforms. Both accumulate over matching rules without duplicates.
  std::vector<std::string> redirect_to;
  std::vector<std::string> forward_to;
  std::vector<Notice> notices;
  bool generate_keys = false;  // hand-off to postern-crypto: make keys for the sender
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
  // Without services, lookup conditions load but fail when evaluated.
  static std::shared_ptr<const Policy> load(const std::string& path);
  static std::shared_ptr<const Policy> load(const std::string& path, Services services);

  Subject subject(const Envelope& envelope, const MessageFacts& facts, std::string_view recipient) const;
  Decision decide(const Subject& subject, std::vector<RuleTrace>* trace = nullptr) const;
  MessageDecision decide_message(const Envelope& envelope, const MessageFacts& facts) const;

  const std::vector<Rule>& rules() const noexcept { return rules_; }
  const std::vector<core::Diagnostic>& warnings() const noexcept { return warnings_; }
  // Every file read: the main file, drop-in files, list files.
  const std::vector<std::string>& files() const noexcept { return files_; }
  const DirectionSettings& direction_settings() const noexcept { return direction_; }
  OnLookupError on_lookup_error() const noexcept { return on_lookup_error_; }
  const Services& services() const noexcept { return services_; }
  // The `groups` map in file order: name, directory group (DN).
  const std::vector<std::pair<std::string, std::string>>& groups() const noexcept { return groups_; }
  // The effective policy after includes as YAML that loads again: settings,
  // groups, lists with their patterns (list files inlined), rules in
  // evaluation order each after a comment naming where it was written.
  std::string dump() const;

 private:
  friend class Loader;
  Policy() = default;

  // A rule's recipient-independent answer, kept for the other recipients
  // of one message.
  struct Cached {
    bool known = false;
    Truth truth = Truth::no;  // of `when`, or (per-recipient rules) of its gate: no means no for everyone
    std::string error;
  };
  Decision decide(const Subject& subject, std::vector<RuleTrace>* trace, std::vector<Cached>* cache) const;

  std::vector<Rule> rules_;
  DirectionSettings direction_;
  OnLookupError on_lookup_error_ = OnLookupError::tempfail;
  Services services_;
  std::string authserv_id_;
  std::vector<std::pair<std::string, std::string>> groups_;  // name, directory group (DN)
  std::vector<std::string> licensed_groups_, licensed_lists_;
  std::vector<std::pair<std::string, std::vector<std::string>>> list_patterns_;  // for dump
  std::vector<core::Diagnostic> warnings_;
  std::vector<std::string> files_;
};

}  // namespace postern::policy
