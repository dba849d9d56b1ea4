// NAME
//   dns - the DNS questions SPF asks, and who answers them
// SUMMARY
//   auto answer = resolver.lookup("example.org", DnsType::txt, deadline);
//   if (answer.status == DnsStatus::temp_error) ...
// DESCRIPTION
//   SPF needs five record types and four outcomes. A Resolver answers one
//   question at a time before a deadline; implementations are the real stub
//   resolver (stub_resolver.hpp), a cache in front of any resolver
//   (dns_cache.hpp) and an in-memory zone for tests (zone_resolver.hpp).
//   Names are given without a trailing dot and compared case-insensitively.
//   An answer carries only records of the asked type: TXT strings of one
//   record are joined without separator (RFC 7208 §3.3); MX and PTR give
//   target names; A and AAAA give addresses.
// THREADS
//   A Resolver is shared by every milter thread: lookup must be thread-safe.
// DIAGNOSTICS
//   lookup never throws for DNS trouble: timeouts, SERVFAIL and a passed
//   deadline are DnsStatus::temp_error, with a short reason for the log.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "postern/core/net.hpp"

namespace postern::spf {

using Clock = std::chrono::steady_clock;

enum class DnsType { a, aaaa, mx, txt, ptr };
enum class DnsStatus {
  found,       // NOERROR with at least one record of the type
  no_data,     // NOERROR, none of the type (a "void" answer for SPF)
  nxdomain,    // the name does not exist (also void)
  temp_error,  // timeout, SERVFAIL, deadline passed: try again later
};

const char* to_string(DnsType type) noexcept;
const char* to_string(DnsStatus status) noexcept;

struct DnsAnswer {
  DnsStatus status = DnsStatus::nxdomain;
  std::vector<std::string> texts;           // TXT
  std::vector<std::string> names;           // MX (in preference order), PTR
  std::vector<core::IpAddress> addresses;   // A, AAAA
  std::uint32_t ttl = 0;                    // seconds; for negative answers the SOA minimum
  std::string reason;                       // temp_error: what went wrong

  static DnsAnswer temporary(std::string why) {
    DnsAnswer a;
    a.status = DnsStatus::temp_error;
    a.reason = std::move(why);
    return a;
  }
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual DnsAnswer lookup(std::string_view name, DnsType type, Clock::time_point deadline) const = 0;
};

// "4.3.2.1.in-addr.arpa" / nibble form under ip6.arpa.
std::string reverse_name(const core::IpAddress& address);

}  // namespace postern::spf
