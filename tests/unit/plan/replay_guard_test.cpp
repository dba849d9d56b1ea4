#include "postern/plan/replay_guard.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace postern::plan {
namespace {

Stamp stamp(std::int64_t time, char fill) { return Stamp{time, std::string(32, fill)}; }

TEST(ReplayGuard, SecondUseOfANonceIsRefused) {
  ReplayGuard g(10);
  EXPECT_TRUE(g.first_use(stamp(100, 'a'), 0));
  EXPECT_FALSE(g.first_use(stamp(100, 'a'), 0));
  EXPECT_TRUE(g.first_use(stamp(100, 'b'), 0));
  EXPECT_EQ(g.size(), 2u);
}

TEST(ReplayGuard, ForgetsNoncesOlderThanTheWindow) {
  ReplayGuard g(10);
  EXPECT_TRUE(g.first_use(stamp(100, 'a'), 0));
  EXPECT_TRUE(g.first_use(stamp(200, 'b'), 0));
  EXPECT_TRUE(g.first_use(stamp(300, 'c'), 150));
  EXPECT_EQ(g.size(), 2u);
  // 'a' was forgotten (its plan would be refused as stale by the sealer).
  EXPECT_TRUE(g.first_use(stamp(100, 'a'), 150));
}

TEST(ReplayGuard, WhenFullForgetsTheOldestFirst) {
  ReplayGuard g(2);
  EXPECT_TRUE(g.first_use(stamp(300, 'a'), 0));
  EXPECT_TRUE(g.first_use(stamp(100, 'b'), 0));
  EXPECT_TRUE(g.first_use(stamp(200, 'c'), 0));
  EXPECT_EQ(g.size(), 2u);
  EXPECT_FALSE(g.first_use(stamp(300, 'a'), 0));
  EXPECT_FALSE(g.first_use(stamp(200, 'c'), 0));
  EXPECT_TRUE(g.first_use(stamp(100, 'b'), 0));  // the documented limit
}

TEST(ReplayGuard, ConcurrentUsesAcceptANonceOnce) {
  ReplayGuard g(1000);
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (g.first_use(stamp(100 + i, static_cast<char>('a' + i % 26)), 0)) ++accepted;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 26);  // 26 distinct nonces, each accepted by one thread only
  EXPECT_EQ(g.size(), 26u);
}

}  // namespace
}  // namespace postern::plan
