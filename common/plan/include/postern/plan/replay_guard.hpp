// NAME
//   replay_guard - remembers the nonces of plans already accepted
// SUMMARY
//   ReplayGuard guard(100000);
//   if (!guard.first_use(stamp, oldest_allowed)) refuse();
// DESCRIPTION
//   A plan older than the verifier's maximum age is refused as stale, so a
//   nonce need only be remembered until its plan is that old: entries whose
//   time is before oldest_allowed are forgotten on each call.
//   Limits, by design:
//   - The set is bounded by capacity. When it is full the entry with the
//     oldest time is forgotten early, so under a flood of more than capacity
//     plans within one maximum age a replay of the oldest may pass.
//   - It lives in one process's memory: a restart forgets it, and each
//     milter process keeps its own (each verifies a plan once, so that is
//     what we want).
// THREADS
//   Safe from any thread (one mutex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>

#include "postern/plan/plan.hpp"

namespace postern::plan {

class ReplayGuard {
 public:
  explicit ReplayGuard(std::size_t capacity);

  // True the first time a nonce is seen (and remembers it); false for a replay.
  bool first_use(const Stamp& stamp, std::int64_t oldest_allowed);
  std::size_t size() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_set<std::string> nonces_;
  std::set<std::pair<std::int64_t, std::string>> by_time_;
};

}  // namespace postern::plan
