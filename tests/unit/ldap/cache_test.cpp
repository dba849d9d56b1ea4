#include "postern/ldap/cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace postern::ldap {
namespace {

using namespace std::chrono_literals;

struct FakeTime {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
  Clock clock() {
    return [this] { return now; };
  }
};

TEST(LdapCache, AnswersUntilTheTtlRunsOut) {
  FakeTime t;
  TtlCache<int> c(10, t.clock());
  c.put("a", 1, 10s);
  c.put("b", 2, 1s);
  EXPECT_EQ(c.get("a"), 1);
  EXPECT_EQ(c.get("b"), 2);
  t.now += 1s;
  EXPECT_EQ(c.get("b"), std::nullopt);
  EXPECT_EQ(c.get("a"), 1);
  t.now += 9s;
  EXPECT_EQ(c.get("a"), std::nullopt);
  EXPECT_EQ(c.size(), 0u);
}

TEST(LdapCache, ZeroTtlStoresNothing) {
  FakeTime t;
  TtlCache<int> c(10, t.clock());
  c.put("a", 1, 0ms);
  EXPECT_EQ(c.get("a"), std::nullopt);
  EXPECT_EQ(c.size(), 0u);
}

TEST(LdapCache, BoundedSizeDropsTheOldest) {
  FakeTime t;
  TtlCache<int> c(3, t.clock());
  for (int i = 0; i < 5; ++i) {
    c.put(std::to_string(i), i, 1h);
  }
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.get("0"), std::nullopt);
  EXPECT_EQ(c.get("1"), std::nullopt);
  EXPECT_EQ(c.get("4"), 4);
  c.put("2", 20, 1h);  // replacing keeps the size and makes it the newest
  c.put("5", 5, 1h);
  EXPECT_EQ(c.get("3"), std::nullopt);
  EXPECT_EQ(c.get("2"), 20);
}

TEST(LdapCache, ThreadSafe) {
  TtlCache<int> c(64, steady_clock());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = std::to_string((i * 7 + t) % 100);
        c.put(key, std::stoi(key), 1h);
        if (auto v = c.get(key); v && *v != std::stoi(key)) {
          ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(c.size(), 64u);
}

}  // namespace
}  // namespace postern::ldap
