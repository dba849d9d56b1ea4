// NAME
//   incamail_filter - the IncaMail milter
// SUMMARY
//   auto filter = std::make_shared<const IncaMailFilter>(Settings::from(*config));
//   // or, as the program does: build_filter(config)
// DESCRIPTION
//   Outbound, for mail from internal senders only (client address in
//   internal.networks, SASL-authenticated, or on an internal listener):
//   the decoded Subject is scanned for <im><c>, <im><p> and <im><r>. A
//   tagged message has each external recipient replaced by
//   local@domain.incamail.ch (delete + add, NOTIFY and ORCPT kept; ORCPT
//   names the original address when the client gave none), so Postfix's
//   transport_maps route it to IncaMail; internal recipients and recipients
//   already ending in .incamail.ch stay. Untagged mail to a .incamail.ch
//   recipient gets "<im><c> " in front of its subject (configurable). The
//   tag always stays in the subject. Unknown or conflicting tags, recipients
//   IncaMail could not deliver, more than one Subject, and messages over
//   the size limits are refused with a 5xx that says why.
//   Inbound: mail is from IncaMail only when Postfix verified the client
//   certificate and both {cert_subject} and {cert_issuer} are listed; it
//   gets "X-Postern-IncaMail: verified" (with "; type=..." when its subject
//   carries exactly one known tag). Mail from others that looks like
//   IncaMail (lookalike sender domain or subject mark) gets the unverified
//   tag in front of its subject, or is refused. Every X-Postern-IncaMail
//   header that arrives with a message is removed: only this milter writes
//   one.
//   Plans: with plan.secret_file set, an X-Postern-Plan header (written by
//   postern-policy, HMAC-verified here) that asks for IncaMail (i=c|p|r)
//   routes the plan's external recipients to IncaMail as a tag would, from
//   any sender: the plan, not the client, is trusted. The Subject gets the
//   plan's tag in front unless it already carries a valid tag, which then
//   wins (logged as type and plan_type). The IncaMail part is removed from
//   the plan (it is sealed again without it) so the milters after this one
//   see only what is left for them. A plan that does not verify (forged,
//   stale, replayed, malformed) or more than one plan header means 451
//   4.7.0: the policy's decision cannot be trusted, so nothing is sent.
//   Decisions are made at end of headers: a message that needs nothing
//   gets ACCEPT there, so its body is never streamed to this milter. The
//   body is only counted, and only for mail that goes to IncaMail.
//   Envelope changes are not seen by milters after this one (Postfix
//   milter.c), and a milter after this one must not reject recipients at
//   RCPT time: this milter would still rewrite them.
//   One log line per decision: tagged, rewritten, refused, verified,
//   unverified, stripped, oversize.
// THREADS
//   The filter is immutable and shared; each session belongs to one
//   connection.
#pragma once

#include <memory>

#include "postern/config/config.hpp"
#include "postern/incamail/recipient_rewriter.hpp"
#include "postern/incamail/settings.hpp"
#include "postern/incamail/tag_scanner.hpp"
#include "postern/milter/filter.hpp"
#include "postern/plan/sealer.hpp"

namespace postern::incamail {

class IncaMailFilter final : public milter::Filter {
 public:
  explicit IncaMailFilter(Settings settings);

  milter::Capabilities capabilities() const override;
  std::unique_ptr<milter::Session> open_session() const override;

  const Settings& settings() const noexcept { return settings_; }
  const TagScanner& scanner() const noexcept { return scanner_; }
  const RecipientRewriter& rewriter() const noexcept { return rewriter_; }
  // nullptr when plan.secret_file is empty.
  plan::Sealer* sealer() const noexcept { return sealer_.get(); }

 private:
  Settings settings_;
  TagScanner scanner_;
  RecipientRewriter rewriter_;
  std::unique_ptr<plan::Sealer> sealer_;  // verify() keeps a replay guard: not const
};

// Program::build for postern-incamail.
std::shared_ptr<const milter::Filter> build_filter(std::shared_ptr<const config::Config> config);

}  // namespace postern::incamail
