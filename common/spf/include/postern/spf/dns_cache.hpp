// NAME
//   dns_cache - a shared, sharded answer cache in front of any Resolver
// SUMMARY
//   auto cached = std::make_shared<CachingResolver>(stub, CacheSettings{});
// DESCRIPTION
//   Answers (positive and negative) are kept for their TTL, clamped to
//   [min_ttl, max_ttl]; temporary errors are never kept. libspf2's own cache
//   is not used: it holds one lock around the lookup below it, which would
//   serialise every check behind the slowest DNS answer. Here a lookup holds
//   a shard's lock only to read or store, never while asking the network.
//   Two threads missing the same name at once both ask; that costs one
//   query and keeps the code free of waits.
//   A full shard first drops expired entries, then its oldest entry.
// THREADS
//   Safe from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "postern/spf/dns.hpp"

namespace postern::spf {

struct CacheSettings {
  std::size_t max_entries = 100000;
  std::uint32_t min_ttl = 30;
  std::uint32_t max_ttl = 86400;
};

class CachingResolver final : public Resolver {
 public:
  CachingResolver(std::shared_ptr<const Resolver> below, CacheSettings settings);
  DnsAnswer lookup(std::string_view name, DnsType type, Clock::time_point deadline) const override;

  std::uint64_t hits() const noexcept { return hits_.load(); }
  std::uint64_t misses() const noexcept { return misses_.load(); }

 private:
  struct Entry {
    DnsAnswer answer;
    Clock::time_point expires;
    std::list<std::string>::iterator age;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
    std::list<std::string> order;  // oldest first
  };
  static constexpr std::size_t kShards = 32;

  std::shared_ptr<const Resolver> below_;
  CacheSettings settings_;
  mutable std::array<Shard, kShards> shards_;
  mutable std::atomic<std::uint64_t> hits_{0};
  mutable std::atomic<std::uint64_t> misses_{0};
};

}  // namespace postern::spf
