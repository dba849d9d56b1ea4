// NAME
//   zone_resolver - fixed DNS answers from memory
// SUMMARY
//   ZoneResolver zone = ZoneResolver::parse(
//       "example.org TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
//       "slow.example TIMEOUT\n");
// DESCRIPTION
//   The resolver behind the RFC 7208 conformance suite, the golden milter
//   cases and unit tests: deterministic answers without a network.
//   Text form, one record per line ('#' starts a comment):
//     NAME A|AAAA ADDRESS
//     NAME MX PREFERENCE TARGET        (TARGET "" or "." for a null MX)
//     NAME PTR|CNAME TARGET
//     NAME TXT "string" ["string"...]  (C escapes \" \\ \0 \NNN allowed)
//     NAME TIMEOUT                     (every type not listed times out)
//   A name with any record exists; other types there are no_data. A CNAME
//   is followed one level, as the RFC 7208 suite's reference drivers do; a
//   CNAME pointing at another CNAME answers no_data.
// THREADS
//   Immutable after building: lookup is safe from any thread.
// DIAGNOSTICS
//   parse throws std::invalid_argument naming the line.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "postern/spf/dns.hpp"

namespace postern::spf {

class ZoneResolver final : public Resolver {
 public:
  static ZoneResolver parse(std::string_view text);

  void add_address(std::string_view name, const core::IpAddress& address);
  void add_mx(std::string_view name, int preference, std::string_view target);
  void add_ptr(std::string_view name, std::string_view target);
  void add_cname(std::string_view name, std::string_view target);
  void add_txt(std::string_view name, std::string text);
  void add_timeout(std::string_view name);
  // Makes the name exist (no_data for every type) without records.
  void add_name(std::string_view name);

  DnsAnswer lookup(std::string_view name, DnsType type, Clock::time_point deadline) const override;

 private:
  struct Node {
    std::vector<core::IpAddress> a, aaaa;
    std::vector<std::pair<int, std::string>> mx;
    std::vector<std::string> ptr, txt;
    std::string cname;
    bool timeout = false;
  };
  Node& node(std::string_view name);
  std::map<std::string, Node, std::less<>> nodes_;
};

}  // namespace postern::spf
