#include "postern/spf/checker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "postern/mime/address.hpp"
#include "postern/spf/dns_cache.hpp"
#include "postern/spf/pra.hpp"
#include "postern/spf/zone_resolver.hpp"

namespace postern::spf {
namespace {

std::shared_ptr<ZoneResolver> zone(const char* text) { return std::make_shared<ZoneResolver>(ZoneResolver::parse(text)); }

Outcome check(const Checker& c, const char* client, const char* sender, Identity id = Identity::mailfrom,
              const char* helo = "mail.example.org") {
  return c.check({id, *core::IpAddress::parse(client), helo, sender});
}

struct ResultCase {
  const char* name;
  const char* zone;
  const char* client;
  const char* sender;
  Result expected;
};

class Results : public ::testing::TestWithParam<ResultCase> {};

TEST_P(Results, AsRfc7208Says) {
  const auto& c = GetParam();
  Checker checker(zone(c.zone));
  EXPECT_EQ(to_string(check(checker, c.client, c.sender).result), std::string(to_string(c.expected))) << c.name;
}

// Ten includes of one lookup each, counted across include: (libspf2 would
// restart the count in every include).
const char* kEleven =
    "e.example TXT \"v=spf1 include:i1.example include:i2.example include:i3.example include:i4.example "
    "include:i5.example a:x.example ip4:192.0.2.7\"\n"
    "i1.example TXT \"v=spf1 a:x.example\"\ni2.example TXT \"v=spf1 a:x.example\"\n"
    "i3.example TXT \"v=spf1 a:x.example\"\ni4.example TXT \"v=spf1 a:x.example\"\n"
    "i5.example TXT \"v=spf1 a:x.example\"\nx.example A 198.51.100.1\n";

INSTANTIATE_TEST_SUITE_P(
    Table, Results,
    ::testing::Values(
        ResultCase{"pass", "e.example TXT \"v=spf1 ip4:192.0.2.0/24 -all\"", "192.0.2.7", "a@e.example", Result::pass},
        ResultCase{"fail", "e.example TXT \"v=spf1 ip4:192.0.2.0/24 -all\"", "198.51.100.7", "a@e.example",
                   Result::fail},
        ResultCase{"loopback is evaluated", "e.example TXT \"v=spf1 -all\"", "127.0.0.1", "a@e.example",
                   Result::fail},
        ResultCase{"mapped client unmapped", "e.example TXT \"v=spf1 ip4:192.0.2.7 -all\"", "::ffff:192.0.2.7",
                   "a@e.example", Result::pass},
        ResultCase{"no record", "e.example A 192.0.2.1", "192.0.2.7", "a@e.example", Result::none},
        ResultCase{"nxdomain", "e.example A 192.0.2.1", "192.0.2.7", "a@nx.example", Result::none},
        ResultCase{"single label", "e.example A 192.0.2.1", "192.0.2.7", "a@localhost", Result::none},
        ResultCase{"timeout", "e.example TIMEOUT", "192.0.2.7", "a@e.example", Result::temperror},
        ResultCase{"include timeout", "e.example TXT \"v=spf1 include:t.example -all\"\nt.example TIMEOUT",
                   "192.0.2.7", "a@e.example", Result::temperror},
        ResultCase{"include without record", "e.example TXT \"v=spf1 include:n.example -all\"\nn.example A 192.0.2.1",
                   "192.0.2.7", "a@e.example", Result::permerror},
        ResultCase{"invalid after a match", "e.example TXT \"v=spf1 ip4:192.0.2.7 foo:bar\"", "192.0.2.7",
                   "a@e.example", Result::permerror},
        ResultCase{"two records", "e.example TXT \"v=spf1 -all\"\ne.example TXT \"v=spf1 +all\"", "192.0.2.7",
                   "a@e.example", Result::permerror},
        ResultCase{"eleven lookups across includes", kEleven, "192.0.2.7", "a@e.example", Result::permerror},
        ResultCase{"three void lookups",
                   "e.example TXT \"v=spf1 a:n1.example a:n2.example a:n3.example ip4:192.0.2.7\"", "192.0.2.7",
                   "a@e.example", Result::permerror},
        ResultCase{"two void lookups",
                   "e.example TXT \"v=spf1 a:n1.example a:n2.example ip4:192.0.2.7\"", "192.0.2.7", "a@e.example",
                   Result::pass},
        ResultCase{"ip4 /0", "e.example TXT \"v=spf1 -ip4:1.1.1.1/0 +all\"", "192.0.2.7", "a@e.example",
                   Result::fail},
        ResultCase{"mx /0", "e.example TXT \"v=spf1 mx/0 -all\"\ne.example MX 10 m.example\nm.example A 10.0.0.1",
                   "192.0.2.7", "a@e.example", Result::pass},
        ResultCase{"a//0 ip6", "e.example TXT \"v=spf1 a//0 -all\"\ne.example AAAA 2001:db8::9", "2001:db8::1",
                   "a@e.example", Result::pass}));

TEST(Checker, HeloIsItsOwnIdentity) {
  Checker c(zone("mail.example.org TXT \"v=spf1 -all\"\ne.example TXT \"v=spf1 +all\""));
  EXPECT_EQ(check(c, "192.0.2.7", "a@e.example", Identity::helo).result, Result::fail);
  EXPECT_EQ(check(c, "192.0.2.7", "a@e.example", Identity::mailfrom).result, Result::pass);
  // The null path checks postmaster@HELO.
  EXPECT_EQ(check(c, "192.0.2.7", "", Identity::mailfrom).result, Result::fail);
  EXPECT_EQ(check(c, "192.0.2.7", "", Identity::mailfrom).domain, "mail.example.org");
}

TEST(Checker, PraUsesSenderIdRecords) {
  Checker c(zone("e.example TXT \"v=spf1 -all\"\ne.example TXT \"spf2.0/pra ip4:192.0.2.0/24 -all\""));
  EXPECT_EQ(check(c, "192.0.2.7", "a@e.example", Identity::pra).result, Result::pass);
  EXPECT_EQ(check(c, "192.0.2.7", "a@e.example", Identity::mailfrom).result, Result::fail);
}

TEST(Checker, HostileInputNeverReachesLibspf2) {
  Checker c(zone("e.example TXT \"v=spf1 exists:%{l}.%{d} -all\""));
  EXPECT_EQ(check(c, "192.0.2.7", (std::string(65, 'x') + "@e.example").c_str()).result, Result::none);
  EXPECT_EQ(check(c, "192.0.2.7", "a\x01@e.example").result, Result::none);
  EXPECT_EQ(check(c, "192.0.2.7", "no-at-sign").result, Result::none);
  EXPECT_EQ(check(c, "192.0.2.7", "a@[192.0.2.1]").result, Result::none);
  EXPECT_EQ(check(c, "192.0.2.7", "a@e.example", Identity::mailfrom, std::string(300, 'h').c_str()).result,
            Result::fail);
}

// A resolver that sleeps: the budget must end the check with temperror.
class SlowResolver final : public Resolver {
 public:
  DnsAnswer lookup(std::string_view name, DnsType type, Clock::time_point deadline) const override {
    std::this_thread::sleep_until(std::min(deadline, Clock::now() + std::chrono::milliseconds(40)));
    if (type == DnsType::txt && name == "e.example") {
      DnsAnswer a;
      a.status = DnsStatus::found;
      a.texts = {"v=spf1 a:a1.example a:a2.example a:a3.example a:a4.example -all"};
      return a;
    }
    return DnsAnswer{};
  }
};

TEST(Checker, WallClockBudgetGivesTemperror) {
  Checker c(std::make_shared<SlowResolver>(), Limits{std::chrono::milliseconds(100), 10, 10});
  const auto start = Clock::now();
  const Outcome o = check(c, "192.0.2.7", "a@e.example");
  EXPECT_EQ(o.result, Result::temperror);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(400));
}

TEST(Checker, ParallelChecksShareOneServer) {
  auto cached = std::make_shared<CachingResolver>(zone("e.example TXT \"v=spf1 ip4:192.0.2.0/24 -all\""),
                                                  CacheSettings{});
  Checker c(cached);
  // Two threads missing the same name at once may both ask (see dns_cache.hpp),
  // so warm the cache first; after that every parallel check must be a hit.
  ASSERT_EQ(check(c, "192.0.2.7", "a@e.example").result, Result::pass);
  const auto warm_misses = cached->misses();
  ASSERT_GE(warm_misses, 1u);
  std::atomic<int> passes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        passes += check(c, "192.0.2.7", "a@e.example").result == Result::pass ? 1 : 0;
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(passes.load(), 800);
  EXPECT_EQ(cached->misses(), warm_misses);
  EXPECT_GE(cached->hits(), 800u);
}

TEST(Cache, KeepsAnswersButNotTemporaryErrors) {
  auto z = zone("e.example A 192.0.2.1\nt.example TIMEOUT");
  CachingResolver cache(z, CacheSettings{2 * 32, 30, 60});
  const auto later = Clock::now() + std::chrono::hours(1);
  EXPECT_EQ(cache.lookup("E.example.", DnsType::a, later).status, DnsStatus::found);
  EXPECT_EQ(cache.lookup("e.example", DnsType::a, later).status, DnsStatus::found);
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.lookup("t.example", DnsType::a, later).status, DnsStatus::temp_error);
  EXPECT_EQ(cache.lookup("t.example", DnsType::a, later).status, DnsStatus::temp_error);
  EXPECT_EQ(cache.misses(), 3u);
  EXPECT_EQ(cache.lookup("nx.example", DnsType::a, later).status, DnsStatus::nxdomain);
  EXPECT_EQ(cache.lookup("nx.example", DnsType::a, later).status, DnsStatus::nxdomain);
  EXPECT_EQ(cache.hits(), 2u);
}

struct PraCase {
  const char* name;
  std::vector<std::pair<std::string, std::string>> headers;
  const char* address;  // "" when no PRA
  const char* header;
};

class PraSelection : public ::testing::TestWithParam<PraCase> {};

TEST_P(PraSelection, FollowsRfc4407) {
  const auto& c = GetParam();
  const Pra pra = find_pra(c.headers);
  EXPECT_EQ(pra.mailbox ? pra.mailbox->addr_spec() : "", c.address) << c.name << ": " << pra.problem;
  EXPECT_EQ(pra.header, c.header) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, PraSelection,
    ::testing::Values(
        PraCase{"from only", {{"From", " Alice <a@x.example>"}}, "a@x.example", "From"},
        PraCase{"sender beats from", {{"From", " a@x.example"}, {"Sender", " s@y.example"}}, "s@y.example", "Sender"},
        PraCase{"empty sender ignored", {{"Sender", "  "}, {"From", " a@x.example"}}, "a@x.example", "From"},
        PraCase{"resent-from beats sender", {{"Resent-From", " r@z.example"}, {"Sender", " s@y.example"}},
                "r@z.example", "Resent-From"},
        PraCase{"resent-sender first", {{"Resent-Sender", " rs@z.example"}, {"Resent-From", " r@z.example"}},
                "rs@z.example", "Resent-Sender"},
        PraCase{"resent-sender of an older block",
                {{"Resent-From", " new@z.example"}, {"Received", " from a by b"}, {"Resent-Sender", " old@z.example"}},
                "new@z.example", "Resent-From"},
        PraCase{"two senders", {{"Sender", " a@x.example"}, {"Sender", " b@x.example"}}, "", "Sender"},
        PraCase{"two froms", {{"From", " a@x.example"}, {"From", " b@x.example"}}, "", "From"},
        PraCase{"two mailboxes", {{"From", " a@x.example, b@x.example"}}, "", "From"},
        PraCase{"malformed", {{"From", " <a@x.example"}}, "", "From"},
        PraCase{"no domain", {{"From", " undisclosed-recipients:;"}}, "", "From"},
        PraCase{"none", {{"Subject", " hi"}}, "", ""}));

}  // namespace
}  // namespace postern::spf
