#include "postern/spf/dns_cache.hpp"

#include <algorithm>
#include <functional>

#include "postern/core/strings.hpp"

namespace postern::spf {

CachingResolver::CachingResolver(std::shared_ptr<const Resolver> below, CacheSettings settings)
    : below_(std::move(below)), settings_(settings) {}

DnsAnswer CachingResolver::lookup(std::string_view name, DnsType type, Clock::time_point deadline) const {
  std::string key = core::ascii_lower(name);
  while (!key.empty() && key.back() == '.') {
    key.pop_back();
  }
  key += '/';
  key += to_string(type);
  Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
  const auto now = Clock::now();
  {
    std::lock_guard lock(shard.mutex);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end()) {
      if (it->second.expires > now) {
        ++hits_;
        return it->second.answer;
      }
      shard.order.erase(it->second.age);
      shard.entries.erase(it);
    }
  }
  ++misses_;
  DnsAnswer answer = below_->lookup(name, type, deadline);
  if (answer.status == DnsStatus::temp_error) {
    return answer;
  }
  const auto ttl = std::clamp(answer.ttl, settings_.min_ttl, settings_.max_ttl);
  const std::size_t per_shard = std::max<std::size_t>(1, settings_.max_entries / kShards);
  std::lock_guard lock(shard.mutex);
  if (shard.entries.count(key) != 0) {
    return answer;  // another thread stored it meanwhile
  }
  if (shard.entries.size() >= per_shard) {
    for (auto it = shard.entries.begin(); it != shard.entries.end();) {
      if (it->second.expires <= now) {
        shard.order.erase(it->second.age);
        it = shard.entries.erase(it);
      } else {
        ++it;
      }
    }
    if (shard.entries.size() >= per_shard) {
      shard.entries.erase(shard.order.front());
      shard.order.pop_front();
    }
  }
  shard.order.push_back(key);
  shard.entries.emplace(key, Entry{answer, now + std::chrono::seconds(ttl), std::prev(shard.order.end())});
  return answer;
}

}  // namespace postern::spf
