// NAME
//   stub_resolver - real DNS through libresolv, with our own servers and timeouts
// SUMMARY
//   StubResolver dns({.servers = {{*IpAddress::parse("127.0.0.1"), 5353}},
//                     .timeout = std::chrono::seconds(2), .attempts = 2});
// DESCRIPTION
//   Asks a recursive resolver (or, in tests, an authoritative server on
//   loopback) with res_nquery. libspf2's own resolver layer knows only
//   /etc/resolv.conf and has no timeout setting; this one takes the servers
//   (port included) from the configuration, or resolv.conf when none are
//   given, and never waits past the caller's deadline: each query's
//   per-try timeout is cut to what is left of it.
//   NXDOMAIN and NOERROR-without-data are answers; SERVFAIL, REFUSED, other
//   rcodes, timeouts and unparsable replies are temp_error (RFC 7208 §4.4).
// THREADS
//   Safe from any thread: each thread keeps its own resolver state, rebuilt
//   when it meets a different StubResolver (after a reload).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "postern/spf/dns.hpp"

namespace postern::spf {

struct DnsServer {
  core::IpAddress address;
  std::uint16_t port = 53;
};

struct StubSettings {
  std::vector<DnsServer> servers;  // empty: /etc/resolv.conf
  std::chrono::seconds timeout{2};  // per try
  int attempts = 2;
  std::uint32_t negative_ttl = 300;  // seconds a "no such record" is remembered
};

class StubResolver final : public Resolver {
 public:
  explicit StubResolver(StubSettings settings);
  DnsAnswer lookup(std::string_view name, DnsType type, Clock::time_point deadline) const override;

 private:
  StubSettings settings_;
  std::uint64_t id_;  // identifies this instance to the per-thread state
};

// "127.0.0.1", "127.0.0.1:5353", "[::1]:53", "::1". Throws std::invalid_argument.
DnsServer parse_dns_server(std::string_view text);

}  // namespace postern::spf
