#include "postern/spf/dns.hpp"

#include <cstdio>

namespace postern::spf {

const char* to_string(DnsType type) noexcept {
  switch (type) {
    case DnsType::a: return "A";
    case DnsType::aaaa: return "AAAA";
    case DnsType::mx: return "MX";
    case DnsType::txt: return "TXT";
    case DnsType::ptr: return "PTR";
  }
  return "?";
}

const char* to_string(DnsStatus status) noexcept {
  switch (status) {
    case DnsStatus::found: return "found";
    case DnsStatus::no_data: return "no_data";
    case DnsStatus::nxdomain: return "nxdomain";
    case DnsStatus::temp_error: return "temp_error";
  }
  return "?";
}

std::string reverse_name(const core::IpAddress& address) {
  const auto& b = address.bytes();
  std::string out;
  if (address.is_v4()) {
    for (int i = 3; i >= 0; --i) {
      out += std::to_string(b[static_cast<std::size_t>(i)]);
      out += '.';
    }
    return out + "in-addr.arpa";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    const auto byte = b[static_cast<std::size_t>(i)];
    out += kHex[byte & 0xf];
    out += '.';
    out += kHex[byte >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

}  // namespace postern::spf
