// spf_bench - SPF checks per second through the postern-spf filter, against
// a real DNS server (nsd) on loopback, with a cold and a warm cache, from one
// and from several parallel connections.
//
// Each message goes through the in-process milter driver (the filter's real
// callbacks, the real StubResolver and CachingResolver): one connection, one
// message, MAIL FROM + HELO SPF checks and SenderID. Cold: every message's
// sender domain is new (a wildcard in the zone), so every check asks nsd.
// Warm: one sender domain, answered from the cache after the first message.
// Parallel connections share one filter; if checks were serialised behind
// one lock, the cold parallel rate could not beat the single-connection one.
//
// Usage: spf_bench [MESSAGES_PER_THREAD] [THREADS]; exit 77 without nsd.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "nsd_server.hpp"
#include "postern/config/config.hpp"
#include "postern/log/log.hpp"
#include "postern/spf_milter/settings.hpp"
#include "postern/spf_milter/spf_filter.hpp"
#include "postern/testing/milter_driver.hpp"

namespace {

using namespace postern;
using Clock = std::chrono::steady_clock;

const char* kZone =
    "@ IN TXT \"v=spf1 ip4:198.51.100.0/24 include:_spf.example.test -all\"\n"
    "_spf IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
    "*.cold IN TXT \"v=spf1 include:_spf.example.test -all\"\n"
    "client IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n";

std::atomic<long> g_serial{0};

// Messages per second for `threads` connections sending `per_thread` each.
double run(std::shared_ptr<const milter::Filter> filter, int threads, int per_thread, bool cold, long& passes) {
  std::atomic<long> pass{0};
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      testing::MilterDriver driver(filter);
      for (int i = 0; i < per_thread; ++i) {
        testing::Envelope env;
        env.client_address = "192.0.2.7";
        env.helo = "client.example.test";
        const std::string domain = cold ? "u" + std::to_string(g_serial++) + ".cold.example.test" : "example.test";
        env.sender = "<alice@" + domain + ">";
        const auto r = driver.run(env, "From: alice@" + domain + "\r\nSubject: bench\r\n\r\nx\r\n");
        for (const auto& line : r.transcript) {
          if (line.find("spf=pass smtp.mailfrom") != std::string::npos) {
            ++pass;
          }
        }
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  passes = pass.load();
  return threads * per_thread / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  const int per_thread = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 4;
  log::init("postern-spf", log::Sink::none);
  spf::testing::NsdServer dns(std::map<std::string, std::string>{{"example.test", kZone}});
  if (!dns.started()) {
    std::fprintf(stderr, "SKIPPED: %s\n", dns.why().c_str());
    return 77;
  }
  const std::string yaml = "spf:\n  authserv_id: mx.example.com\ndns:\n  servers: ['127.0.0.1:" +
                           std::to_string(dns.port()) + "']\n  timeout: 1s\n";
  const auto cfg = std::make_shared<const config::Config>(config::load_string(spf_milter::schema(), yaml, "bench"));
  bool ok = true;
  std::printf("%-28s %10s %12s %8s\n", "run", "msgs/s", "checks/s", "passes");
  struct Row {
    const char* name;
    int threads;
    bool cold;
    bool fresh_filter;
  };
  double cold1 = 0, coldn = 0, warm1 = 0, warmn = 0;
  for (const Row row : {Row{"cold, 1 connection", 1, true, true}, Row{"cold, N connections", threads, true, true},
                        Row{"warm, 1 connection", 1, false, true}, Row{"warm, N connections", threads, false, false}}) {
    static std::shared_ptr<const milter::Filter> filter;
    if (row.fresh_filter || !filter) {
      filter = spf_milter::build_filter(cfg);  // a new filter: an empty cache
    }
    if (!row.cold && row.fresh_filter) {
      long ignored = 0;
      run(filter, 1, 1, false, ignored);  // warm it
    }
    long passes = 0;
    const double rate = run(filter, row.threads, per_thread, row.cold, passes);
    // Three SPF evaluations per message: MAIL FROM, HELO, SenderID (PRA).
    std::printf("%-28s %10.0f %12.0f %8ld  (%d x %d)\n", row.name, rate, rate * 3, passes, row.threads, per_thread);
    ok = ok && passes == static_cast<long>(row.threads) * per_thread;
    (row.cold ? (row.threads == 1 ? cold1 : coldn) : (row.threads == 1 ? warm1 : warmn)) = rate;
  }
  std::printf("scaling with %d connections: cold %.2fx, warm %.2fx\n", threads, coldn / cold1, warmn / warm1);
  if (!ok) {
    std::fprintf(stderr, "FAILED: not every message passed SPF\n");
    return 1;
  }
  return 0;
}
