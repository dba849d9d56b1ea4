#include "postern/spf/zone_resolver.hpp"

#include <gtest/gtest.h>

#include "postern/spf/dns.hpp"

namespace postern::spf {
namespace {

const auto kLater = Clock::now() + std::chrono::hours(1);

TEST(ZoneResolver, ParsesEveryRecordType) {
  const auto zone = ZoneResolver::parse(
      "# comment\n"
      "example.org A 192.0.2.1\n"
      "example.org AAAA 2001:db8::1\n"
      "example.org MX 20 mx2.example.org\n"
      "example.org MX 10 mx1.example.org.\n"
      "example.org TXT \"v=spf1 \" \"-all\"\n"
      "nul.example TXT \"a\\0b\"\n"
      "alias.example CNAME Example.ORG\n"
      "1.2.0.192.in-addr.arpa PTR mail.example.org\n"
      "slow.example TIMEOUT\n"
      "slow.example A 192.0.2.9\n");
  EXPECT_EQ(zone.lookup("EXAMPLE.org.", DnsType::a, kLater).addresses.at(0).to_string(), "192.0.2.1");
  EXPECT_EQ(zone.lookup("example.org", DnsType::aaaa, kLater).addresses.at(0).to_string(), "2001:db8::1");
  EXPECT_EQ(zone.lookup("example.org", DnsType::mx, kLater).names,
            (std::vector<std::string>{"mx1.example.org", "mx2.example.org"}));
  EXPECT_EQ(zone.lookup("example.org", DnsType::txt, kLater).texts.at(0), "v=spf1 -all");
  EXPECT_EQ(zone.lookup("nul.example", DnsType::txt, kLater).texts.at(0), std::string("a\0b", 3));
  EXPECT_EQ(zone.lookup("alias.example", DnsType::a, kLater).addresses.size(), 1u);
  EXPECT_EQ(zone.lookup("1.2.0.192.in-addr.arpa", DnsType::ptr, kLater).names.at(0), "mail.example.org");
  EXPECT_EQ(zone.lookup("example.org", DnsType::ptr, kLater).status, DnsStatus::no_data);
  EXPECT_EQ(zone.lookup("missing.example", DnsType::a, kLater).status, DnsStatus::nxdomain);
  EXPECT_EQ(zone.lookup("slow.example", DnsType::txt, kLater).status, DnsStatus::temp_error);
  EXPECT_EQ(zone.lookup("slow.example", DnsType::a, kLater).status, DnsStatus::found);
  EXPECT_EQ(zone.lookup("example.org", DnsType::a, Clock::now() - std::chrono::seconds(1)).status,
            DnsStatus::temp_error);
}

TEST(ZoneResolver, RefusesBadLines) {
  for (const char* bad : {"example.org", "example.org A 2001:db8::1", "example.org AAAA 192.0.2.1",
                          "example.org TXT unquoted", "example.org TXT \"open", "example.org MX 10",
                          "example.org SRV 1 2 3 x", "example.org TXT \"\\999\"", "example.org MX x1 mx.example"}) {
    EXPECT_THROW(ZoneResolver::parse(bad), std::invalid_argument) << bad;
  }
}

TEST(Dns, ReverseNames) {
  EXPECT_EQ(reverse_name(*core::IpAddress::parse("192.0.2.7")), "7.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name(*core::IpAddress::parse("2001:db8::1")),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

}  // namespace
}  // namespace postern::spf
