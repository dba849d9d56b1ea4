// NAME
//   sealer - signs plans into X-Postern-Plan header values and verifies them
// SUMMARY
//   Sealer sealer(Secret::load(path), {.max_age = std::chrono::seconds(600)});
//   actions.add_header(kPlanHeader, sealer.seal(plan, system_clock::now()));
//   ...
//   Verdict v = sealer.verify(value, system_clock::now());
//   if (!v.ok()) log(to_string(v.refusal));
// DESCRIPTION
//   The header value is "1.PAYLOAD.MAC": the format version, the payload of
//   plan.hpp (time, nonce, recipients, transforms) in base64url without
//   padding, and HMAC-SHA256 under the shared secret over
//   "X-Postern-Plan:1.PAYLOAD", also base64url. It is folded into lines of at
//   most kFoldWidth characters ("\n\t" between them, as the milter API wants
//   folds); verify() removes folding whitespace before anything else.
//   A sealed value never exceeds kMaxValueBytes, far below Postfix's 100 KB
//   header_size_limit and libmilter's 64 KB packet limit.
//
//   verify() checks, in this order, and names the first failure:
//     malformed            empty, too long, not three dot-separated parts,
//                          bad base64url
//     unsupported_version  a version other than 1
//     unsigned_plan        the MAC part is missing or empty
//     forged               the MAC does not match (constant-time compare)
//     malformed            the authenticated payload does not decode
//     stale / future       older than max_age, or more than max_skew ahead
//     replayed             its nonce was accepted before (replay_guard.hpp)
//   The payload is only decoded after its MAC matched.
// DIAGNOSTICS
//   seal() throws std::invalid_argument for an unrepresentable plan (see
//   encode_payload) and std::length_error when the value would exceed
//   kMaxValueBytes (too many recipients for one plan).
// THREADS
//   seal() and verify() are safe from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "postern/plan/plan.hpp"
#include "postern/plan/replay_guard.hpp"
#include "postern/plan/secret.hpp"

namespace postern::plan {

inline constexpr std::string_view kPlanHeader = "X-Postern-Plan";
inline constexpr std::size_t kMaxValueBytes = 32 * 1024;
inline constexpr std::size_t kFoldWidth = 76;

enum class Refusal { none, malformed, unsupported_version, unsigned_plan, forged, stale, future, replayed };

// "malformed", "unsupported-version", "unsigned", "forged", "stale", "future", "replayed"
const char* to_string(Refusal refusal) noexcept;

struct Verdict {
  Refusal refusal = Refusal::none;
  StampedPlan plan;  // meaningful only when ok()
  bool ok() const noexcept { return refusal == Refusal::none; }
};

class Sealer {
 public:
  using Clock = std::chrono::system_clock;

  struct Options {
    std::chrono::seconds max_age{600};
    std::chrono::seconds max_skew{60};
    std::size_t replay_capacity = 100000;
  };

  Sealer(Secret secret, Options options);

  std::string seal(const Plan& plan, Clock::time_point now) const;
  // With a stamp chosen by the caller (a fixed clock and nonce make golden
  // tests stable); the nonce must be 32 hex digits and never reused.
  std::string seal(const Plan& plan, const Stamp& stamp) const;
  Verdict verify(std::string_view header_value, Clock::time_point now);

 private:
  std::string mac(std::string_view signed_text) const;

  Secret secret_;
  Options options_;
  ReplayGuard replay_;
};

}  // namespace postern::plan
