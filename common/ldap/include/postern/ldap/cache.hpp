// NAME
//   cache - a bounded, thread-safe map whose entries expire
// SUMMARY
//   TtlCache<bool> c(10000, [] { return std::chrono::steady_clock::now(); });
//   c.put("m\x1f" "a@example.org\x1f" "staff", true, std::chrono::minutes(5));
//   std::optional<bool> hit = c.get(key);
// DESCRIPTION
//   Each entry carries its own expiry (the caller picks the positive or the
//   negative TTL); a TTL of zero or less stores nothing. At capacity the
//   entry stored longest ago goes first. The clock is injected so tests can
//   move time. Only answers are stored: callers never put failures here.
// THREADS
//   Safe from any thread (one mutex).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace postern::ldap {

using Clock = std::function<std::chrono::steady_clock::time_point()>;

inline Clock steady_clock() {
  return [] { return std::chrono::steady_clock::now(); };
}

template <typename V>
class TtlCache {
 public:
  TtlCache(std::size_t capacity, Clock clock) : capacity_(capacity == 0 ? 1 : capacity), clock_(std::move(clock)) {}

  std::optional<V> get(const std::string& key) {
    std::lock_guard lock(mutex_);
    const auto it = map_.find(key);
    if (it == map_.end()) {
      return std::nullopt;
    }
    if (clock_() >= it->second.expires) {
      order_.erase(it->second.position);
      map_.erase(it);
      return std::nullopt;
    }
    return it->second.value;
  }

  void put(const std::string& key, V value, std::chrono::milliseconds ttl) {
    if (ttl.count() <= 0) {
      return;
    }
    std::lock_guard lock(mutex_);
    const auto expires = clock_() + ttl;
    if (const auto it = map_.find(key); it != map_.end()) {
      order_.erase(it->second.position);
      map_.erase(it);
    }
    while (map_.size() >= capacity_ && !order_.empty()) {
      map_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(key);
    map_.emplace(key, Entry{std::move(value), expires, std::prev(order_.end())});
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return map_.size();
  }

  void clear() {
    std::lock_guard lock(mutex_);
    map_.clear();
    order_.clear();
  }

 private:
  struct Entry {
    V value;
    std::chrono::steady_clock::time_point expires;
    std::list<std::string>::iterator position;
  };
  const std::size_t capacity_;
  const Clock clock_;
  mutable std::mutex mutex_;
  std::list<std::string> order_;  // oldest first
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace postern::ldap
