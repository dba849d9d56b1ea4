// NAME
//   filter - the postern-policy milter
// SUMMARY
//   auto filter = build_filter(config);   // Program::build
//   // tests: std::make_shared<PolicyFilter>(settings, policy, std::move(secret), deps)
// DESCRIPTION
//   For every message:
//   - every X-Postern-* header that arrived is removed (log: stripped);
//   - at end of message the message (spooled with common/mime body_spool,
//     so memory stays bounded) is judged per recipient with the rules;
//   - a failed lookup for any recipient tempfails the message (451 4.3.0);
//     all recipients rejected: 550 5.7.1 with the rule's text; some
//     rejected: they are removed and the sender gets a non-delivery
//     notice (notices.hpp) unless it is a bounce or auto-submitted mail;
//     discarded recipients are removed, and a message left with nobody is
//     discarded; held recipients stay and the message goes to the hold
//     queue (smfi_quarantine, the rule's reason);
//   - redirect replaces a recipient, forward adds recipients; both take
//     the recipient's plan;
//   - a {send_keys} command in the Subject (subject_command.hpp), when
//     honoured and policy.subject_commands is on, puts send_keys into the
//     plan of every recipient not under no_processing and leaves the
//     Subject (here and in the copies); otherwise it is logged as ignored;
//   - recipients with the same plan form a group, and every Bcc recipient
//     (an envelope recipient not in To or Cc) is a group of its own. The
//     held group, else the first, stays in this transaction; every other
//     group is re-submitted as a copy to the re-injection listener (MAIL
//     FROM the original sender, RCPT TO its recipients), with its header
//     edits applied and its own sealed X-Postern-Plan. Only when every copy
//     was accepted are those recipients removed here; one failed copy
//     tempfails the whole message (a retry may duplicate, never lose);
//   - the kept group's header edits (remove, add, change header, subject
//     tag) are done with milter header actions, then its plan is sealed
//     and added. Every accepted message gets a plan, even one with no
//     transforms; the sealed plan carries only what the milters after this
//     one still have to do (header edits are done here and left out);
//   - acknowledgements and alerts are submitted like copies, from the null
//     sender; a failed one is logged, the message goes on.
//   Log events: stripped, subject_command, decided, tempfail, rejected, discarded, held,
//   resubmitted, resubmit-failed, notice, notice-failed, notice-skipped.
// THREADS
//   The filter is immutable and shared (the Sealer's seal() and the
//   Submitter are thread-safe); each session belongs to one connection.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "postern/config/config.hpp"
#include "postern/milter/filter.hpp"
#include "postern/plan/sealer.hpp"
#include "postern/policy/filter_settings.hpp"
#include "postern/policy/policy.hpp"
#include "postern/policy/submitter.hpp"

namespace postern::policy {

// What the filter takes from the world: replaceable in tests so that
// golden output is stable.
struct FilterDeps {
  std::shared_ptr<Submitter> submitter;                        // default: SMTP to reinjection.*
  std::function<std::chrono::system_clock::time_point()> now;  // default: system_clock::now
  std::function<std::string()> token;                          // 32 hex digits, unique; default: random
};

class PolicyFilter final : public milter::Filter {
 public:
  PolicyFilter(FilterSettings settings, std::shared_ptr<const Policy> policy, plan::Secret secret, FilterDeps deps);

  milter::Capabilities capabilities() const override;
  std::unique_ptr<milter::Session> open_session() const override;

  const FilterSettings& settings() const noexcept { return settings_; }
  const Policy& policy() const noexcept { return *policy_; }
  const plan::Sealer& sealer() const noexcept { return sealer_; }
  const FilterDeps& deps() const noexcept { return deps_; }

 private:
  FilterSettings settings_;
  std::shared_ptr<const Policy> policy_;
  plan::Sealer sealer_;
  FilterDeps deps_;
};

// 32 random hex digits (getrandom).
std::string random_token();

// Program::build for postern-policy: settings, rules, secret, SMTP submitter.
std::shared_ptr<const milter::Filter> build_filter(std::shared_ptr<const config::Config> config);

}  // namespace postern::policy
