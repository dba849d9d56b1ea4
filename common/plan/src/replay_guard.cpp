#include "postern/plan/replay_guard.hpp"

#include "postern/core/error.hpp"

namespace postern::plan {

ReplayGuard::ReplayGuard(std::size_t capacity) : capacity_(capacity) { POSTERN_ASSERT(capacity > 0); }

bool ReplayGuard::first_use(const Stamp& stamp, std::int64_t oldest_allowed) {
  std::lock_guard lock(mutex_);
  while (!by_time_.empty() && by_time_.begin()->first < oldest_allowed) {
    nonces_.erase(by_time_.begin()->second);
    by_time_.erase(by_time_.begin());
  }
  if (nonces_.count(stamp.nonce) != 0) {
    return false;
  }
  if (nonces_.size() >= capacity_) {
    nonces_.erase(by_time_.begin()->second);
    by_time_.erase(by_time_.begin());
  }
  nonces_.insert(stamp.nonce);
  by_time_.emplace(stamp.time, stamp.nonce);
  return true;
}

std::size_t ReplayGuard::size() const {
  std::lock_guard lock(mutex_);
  return nonces_.size();
}

}  // namespace postern::plan
