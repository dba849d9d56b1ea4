// NAME
//   result - what a revocation check found, and whether the policy accepts it
// SUMMARY
//   revocation::Result r = checker.check(cert, issuer);
//   if (!r.accepted) refuse(r.text());      // "revoked (ocsp http://...): keyCompromise since ..."
//   log::info(qid, "revocation", {{"status", to_string(r.status)}, {"detail", r.text()}});
// DESCRIPTION
//   Status is the answer of the sources: good (a current, verified OCSP
//   response or CRL says the certificate is not revoked), revoked (one says
//   it is, with the reason and time when given), unknown (no source gave a
//   usable answer; `why` lists each attempt). `accepted` applies the mode:
//   good is accepted, revoked never, unknown only under soft_fail (with
//   `note` saying so). text() is one line fit for a Postfix-style log:
//   no certificate bytes, no response bodies.
// THREADS
//   Values.
#pragma once

#include <ctime>
#include <string>
#include <vector>

namespace postern::revocation {

enum class Status { good, revoked, unknown };
const char* to_string(Status status) noexcept;  // "good", "revoked", "unknown"

enum class Mode { soft_fail, hard_fail };
const char* to_string(Mode mode) noexcept;  // "soft-fail", "hard-fail"

struct Result {
  Status status = Status::unknown;
  bool accepted = false;
  std::string source;       // "ocsp http://...", "crl http://...", "crl file NAME"; "" when unknown
  bool from_cache = false;  // answered from the cache, no request made
  int reason_code = -1;     // CRLReason (RFC 5280 5.3.1) when revoked and given; -1 otherwise
  std::string reason;       // "keyCompromise", ... ; "unspecified" when not given
  std::time_t revoked_at = 0;
  std::time_t this_update = 0;  // of the response / CRL that answered
  std::time_t next_update = 0;  // 0: none given
  std::string why;              // unknown: every attempt and why it failed, "; "-separated
  std::string note;             // "soft-fail: accepted without revocation information"
  std::string subject;          // the certificate checked (RFC 2253), for logs
  std::string serial;           // hex

  // One log line: "good (ocsp http://...)", "revoked (crl ...): keyCompromise
  // since 2026-11-24T23:10:00Z", "unknown: ...; soft-fail: accepted".
  std::string text() const;

  // Whether `mode` would accept this status (good; unknown under soft_fail),
  // for callers that share one Checker between policies of both modes.
  bool accepted_under(Mode mode) const noexcept {
    return status == Status::good || (status == Status::unknown && mode == Mode::soft_fail);
  }
};

// A chain, leaf first. accepted when every checked certificate is accepted.
struct ChainResult {
  bool accepted = true;
  std::vector<Result> results;  // one per checked certificate, leaf first; stops after the first refusal
  std::string text() const;     // "SUBJECT: text; SUBJECT: text"

  // As Result::accepted_under for every result. Exact when the Checker ran
  // in soft_fail mode (it stops only at a revoked certificate then).
  bool accepted_under(Mode mode) const noexcept {
    for (const Result& r : results) {
      if (!r.accepted_under(mode)) return false;
    }
    return true;
  }
};

}  // namespace postern::revocation
