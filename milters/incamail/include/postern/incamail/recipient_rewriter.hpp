// NAME
//   recipient_rewriter - which recipients go via IncaMail, and as what
// SUMMARY
//   RecipientRewriter rewriter(settings.internal_domains);
//   Recipient r = rewriter.classify("<Bob@Example.COM.>");
//   // r.kind == Recipient::Kind::external, r.rewritten == "<Bob@example.com.incamail.ch>"
// DESCRIPTION
//   classify() reads a RCPT TO argument as libmilter hands it over (with or
//   without angle brackets) the way Postfix reads it: quoted local parts,
//   trailing dot on the domain, IDN domains (compared and rewritten as
//   lowercase A-labels). The local part is kept byte for byte: only the
//   receiving domain knows whether it is case-sensitive.
//     internal       domain in the internal list, or no domain at all
//                    (Postfix qualifies it with $myorigin)
//     incamail       domain ends in .incamail.ch: already routed via IncaMail
//     external       everything else; rewritten is local@domain.incamail.ch
//     bare_incamail  domain is incamail.ch itself: it names no recipient
//                    domain, so IncaMail could not deliver it
//     unusable       cannot be sent via IncaMail: unreadable, source-routed,
//                    an address literal, a non-ASCII local part, or too long
//                    once .incamail.ch is appended
//   For the last two, refusal carries the reply that says why. Whether it
//   matters is the caller's business: an unusable address in untagged mail
//   is none of IncaMail's concern.
// THREADS
//   Immutable after construction; classify() is const and reentrant.
#pragma once

#include <vector>

#include <optional>
#include <string>
#include <string_view>

#include "postern/incamail/settings.hpp"
#include "postern/milter/filter.hpp"

namespace postern::incamail {

struct Recipient {
  enum class Kind { internal, incamail, external, bare_incamail, unusable };
  Kind kind = Kind::unusable;
  std::string original;             // the RCPT argument as received
  std::string address;              // local@domain, domain in A-labels; "" when unreadable
  std::string rewritten;            // external only: "<local@domain.incamail.ch>"
  std::optional<milter::Reply> refusal;  // bare_incamail and unusable
};

class RecipientRewriter {
 public:
  explicit RecipientRewriter(DomainList internal_domains) : internal_domains_(std::move(internal_domains)) {}
  Recipient classify(std::string_view rcpt) const;

 private:
  DomainList internal_domains_;
};

// The DSN parameters Postfix keeps on a recipient added in place of another
// (NOTIFY, ORCPT) from the original RCPT's arguments (args[0] is the
// address); ORCPT names `original` (xtext, RFC 3461) when the client gave
// none, so delivery reports show the address the sender wrote.
std::string dsn_args(const std::vector<std::string>& rcpt_args, std::string_view original);

}  // namespace postern::incamail
