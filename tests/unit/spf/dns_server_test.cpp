// The real resolver path against a real DNS server (nsd on loopback):
// record types, SPF results through StubResolver + CachingResolver, the
// milter built from a config naming that server, and a server that never
// answers (temperror within the budget). Skipped when nsd is missing.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "nsd_server.hpp"
#include "postern/config/config.hpp"
#include "postern/spf/checker.hpp"
#include "postern/spf/dns_cache.hpp"
#include "postern/spf/stub_resolver.hpp"
#include "postern/spf_milter/settings.hpp"
#include "postern/spf_milter/spf_filter.hpp"
#include "postern/testing/milter_driver.hpp"

namespace postern::spf {
namespace {

const char* kZone =
    "@ IN TXT \"v=spf1 ip4:192.0.2.0/24 include:_inc.example.test mx -all\"\n"
    "_inc IN TXT \"v=spf1 ip6:2001:db8::/32 \" \"a:host.example.test -all\"\n"
    "host IN A 198.51.100.10\n"
    "host IN AAAA 2001:db8:1::10\n"
    "@ IN MX 10 mx1\n"
    "@ IN MX 5 mx0\n"
    "mx0 IN A 203.0.113.5\n"
    "mx1 IN A 203.0.113.6\n"
    "soft IN TXT \"v=spf1 ~all\"\n"
    "alias IN CNAME host\n";

class RealDns : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new testing::NsdServer(std::map<std::string, std::string>{{"example.test", kZone}}); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    // nsd is in ci/packages.txt: a server that does not start is a failure.
    ASSERT_TRUE(server_->started()) << server_->why();
  }
  StubSettings settings() const {
    return {{{*core::IpAddress::parse("127.0.0.1"), server_->port()}}, std::chrono::seconds(1), 2, 60};
  }
  static testing::NsdServer* server_;
};
testing::NsdServer* RealDns::server_ = nullptr;

const auto later = [] { return Clock::now() + std::chrono::seconds(5); };

TEST_F(RealDns, StubResolverReadsEveryType) {
  StubResolver dns(settings());
  const auto txt = dns.lookup("_inc.example.test", DnsType::txt, later());
  ASSERT_EQ(txt.status, DnsStatus::found);
  EXPECT_EQ(txt.texts.at(0), "v=spf1 ip6:2001:db8::/32 a:host.example.test -all");  // strings joined
  EXPECT_EQ(txt.ttl, 300u);
  EXPECT_EQ(dns.lookup("example.test", DnsType::mx, later()).names,
            (std::vector<std::string>{"mx0.example.test", "mx1.example.test"}));
  EXPECT_EQ(dns.lookup("host.example.test", DnsType::a, later()).addresses.at(0).to_string(), "198.51.100.10");
  EXPECT_EQ(dns.lookup("host.example.test", DnsType::aaaa, later()).addresses.at(0).to_string(), "2001:db8:1::10");
  EXPECT_EQ(dns.lookup("alias.example.test", DnsType::a, later()).addresses.size(), 1u);
  EXPECT_EQ(dns.lookup("host.example.test", DnsType::txt, later()).status, DnsStatus::no_data);
  EXPECT_EQ(dns.lookup("missing.example.test", DnsType::a, later()).status, DnsStatus::nxdomain);
}

TEST_F(RealDns, CheckerResults) {
  Checker checker(std::make_shared<CachingResolver>(std::make_shared<StubResolver>(settings()), CacheSettings{}));
  const auto check = [&](const char* ip, const char* sender) {
    return checker.check({Identity::mailfrom, *core::IpAddress::parse(ip), "client.example", sender}).result;
  };
  EXPECT_EQ(check("192.0.2.7", "a@example.test"), Result::pass);
  EXPECT_EQ(check("198.51.100.10", "a@example.test"), Result::pass);  // via include: a:
  EXPECT_EQ(check("2001:db8::77", "a@example.test"), Result::pass);   // via include: ip6
  EXPECT_EQ(check("203.0.113.5", "a@example.test"), Result::pass);    // mx
  EXPECT_EQ(check("198.51.100.99", "a@example.test"), Result::fail);
  EXPECT_EQ(check("198.51.100.99", "a@soft.example.test"), Result::softfail);
  EXPECT_EQ(check("198.51.100.99", "a@host.example.test"), Result::none);
  EXPECT_EQ(check("198.51.100.99", "a@nowhere.example.test"), Result::none);
}

TEST_F(RealDns, MilterUsesTheConfiguredServer) {
  const std::string yaml = "spf:\n  authserv_id: mx.example.com\ndns:\n  servers: ['127.0.0.1:" +
                           std::to_string(server_->port()) + "']\n";
  auto cfg = std::make_shared<const config::Config>(config::load_string(spf_milter::schema(), yaml, "test"));
  postern::testing::MilterDriver driver(spf_milter::build_filter(cfg));
  postern::testing::Envelope env;
  env.client_address = "192.0.2.7";
  env.sender = "<alice@example.test>";
  const auto r = driver.run(env, "From: alice@example.test\r\nSubject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(r.verdict.status, milter::Status::proceed);
  bool found = false;
  for (const auto& line : r.transcript) {
    found = found || line.find("spf=pass smtp.mailfrom=alice@example.test") != std::string::npos;
  }
  EXPECT_TRUE(found);
}

TEST(SilentDns, TemperrorWithinTheBudget) {
  // A UDP socket that is bound but never answers.
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  StubSettings s{{{*core::IpAddress::parse("127.0.0.1"), ntohs(sa.sin_port)}}, std::chrono::seconds(1), 5, 60};
  Checker checker(std::make_shared<StubResolver>(s), Limits{std::chrono::milliseconds(2000), 10, 2});
  const auto start = Clock::now();
  const Outcome o = checker.check({Identity::mailfrom, *core::IpAddress::parse("192.0.2.7"), "h.example", "a@b.example"});
  const auto took = Clock::now() - start;
  ::close(fd);
  EXPECT_EQ(o.result, Result::temperror);
  EXPECT_LT(took, std::chrono::milliseconds(3500));
}

TEST(DnsServerSetting, Parses) {
  EXPECT_EQ(parse_dns_server("127.0.0.1").port, 53);
  EXPECT_EQ(parse_dns_server("127.0.0.1:5353").port, 5353);
  EXPECT_EQ(parse_dns_server("[::1]:53").address.to_string(), "::1");
  EXPECT_EQ(parse_dns_server("::1").port, 53);
  for (const char* bad : {"", "host.example", "127.0.0.1:0", "127.0.0.1:70000", "[::1", "[::1]x", "1.2.3.4:5x"}) {
    EXPECT_THROW(parse_dns_server(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
}  // namespace postern::spf
