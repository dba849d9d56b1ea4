#include "postern/spf/stub_resolver.hpp"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <stdexcept>

namespace postern::spf {
namespace {

std::atomic<std::uint64_t> g_next_id{1};

// One thread's libresolv state, bound to one StubResolver instance.
struct ThreadState {
  std::uint64_t owner = 0;
  struct __res_state res {};
  bool open = false;
  ThreadState() = default;
  ThreadState(const ThreadState&) = delete;
  ThreadState& operator=(const ThreadState&) = delete;
  ~ThreadState() { close(); }
  void close() {
    if (open) {
      res_nclose(&res);
      open = false;
    }
  }
};

thread_local ThreadState t_state;

int ns_type_of(DnsType type) {
  switch (type) {
    case DnsType::a: return ns_t_a;
    case DnsType::aaaa: return ns_t_aaaa;
    case DnsType::mx: return ns_t_mx;
    case DnsType::txt: return ns_t_txt;
    case DnsType::ptr: return ns_t_ptr;
  }
  return ns_t_a;
}

// Reads the answer section: records of the asked type only (CNAMEs are
// followed by the recursive server and arrive before their targets).
DnsAnswer parse_reply(const unsigned char* reply, int length, DnsType type) {
  ns_msg msg;
  if (ns_initparse(reply, length, &msg) != 0) {
    return DnsAnswer::temporary("unparsable reply");
  }
  DnsAnswer answer;
  answer.ttl = UINT32_MAX;
  const int want = ns_type_of(type);
  std::vector<std::pair<unsigned, std::string>> mx;
  const int count = ns_msg_count(msg, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) != 0) {
      return DnsAnswer::temporary("unparsable record");
    }
    if (ns_rr_type(rr) != want) {
      continue;
    }
    answer.ttl = std::min<std::uint32_t>(answer.ttl, ns_rr_ttl(rr));
    const unsigned char* rdata = ns_rr_rdata(rr);
    const std::size_t rdlen = ns_rr_rdlen(rr);
    char name[NS_MAXDNAME];
    switch (type) {
      case DnsType::a:
        if (rdlen == 4) {
          answer.addresses.push_back(core::IpAddress::v4(static_cast<std::uint32_t>(rdata[0]) << 24 |
                                                         static_cast<std::uint32_t>(rdata[1]) << 16 |
                                                         static_cast<std::uint32_t>(rdata[2]) << 8 | rdata[3]));
        }
        break;
      case DnsType::aaaa:
        if (rdlen == 16) {
          std::array<std::uint8_t, 16> bytes{};
          std::memcpy(bytes.data(), rdata, 16);
          answer.addresses.push_back(core::IpAddress::v6(bytes));
        }
        break;
      case DnsType::txt: {
        std::string text;
        for (std::size_t p = 0; p < rdlen;) {
          const std::size_t n = rdata[p++];
          if (p + n > rdlen) {
            return DnsAnswer::temporary("bad TXT record");
          }
          text.append(reinterpret_cast<const char*>(rdata + p), n);
          p += n;
        }
        answer.texts.push_back(std::move(text));
        break;
      }
      case DnsType::mx:
        if (rdlen < 3 || ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rdata + 2, name, sizeof name) < 0) {
          return DnsAnswer::temporary("bad MX record");
        }
        mx.emplace_back(ns_get16(rdata), name);
        break;
      case DnsType::ptr:
        if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rdata, name, sizeof name) < 0) {
          return DnsAnswer::temporary("bad PTR record");
        }
        answer.names.emplace_back(name);
        break;
    }
  }
  std::stable_sort(mx.begin(), mx.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  for (auto& [pref, target] : mx) {
    answer.names.push_back(std::move(target));
  }
  const bool any = !answer.addresses.empty() || !answer.texts.empty() || !answer.names.empty();
  answer.status = any ? DnsStatus::found : DnsStatus::no_data;
  if (!any) {
    answer.ttl = 0;
  }
  return answer;
}

}  // namespace

DnsServer parse_dns_server(std::string_view text) {
  DnsServer server;
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      throw std::invalid_argument("unbalanced '[' in DNS server '" + std::string(text) + "'");
    }
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        throw std::invalid_argument("expected ':PORT' after ']' in '" + std::string(text) + "'");
      }
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  }
  auto address = core::IpAddress::parse(host);
  if (!address) {
    throw std::invalid_argument("DNS server '" + std::string(text) + "' is not an IP address");
  }
  server.address = *address;
  if (!port.empty()) {
    int value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535) {
        throw std::invalid_argument("bad port in DNS server '" + std::string(text) + "'");
      }
      value = value * 10 + (c - '0');
    }
    if (value == 0 || value > 65535) {
      throw std::invalid_argument("bad port in DNS server '" + std::string(text) + "'");
    }
    server.port = static_cast<std::uint16_t>(value);
  }
  return server;
}

StubResolver::StubResolver(StubSettings settings) : settings_(std::move(settings)), id_(g_next_id++) {
  if (settings_.servers.size() > MAXNS) {
    throw std::invalid_argument("at most " + std::to_string(MAXNS) + " DNS servers");
  }
  for (const auto& s : settings_.servers) {
    if (!s.address.is_v4()) {
      // libresolv's nsaddr_list holds IPv4 only; IPv6 needs _u._ext, which
      // glibc 2.36 keeps private.
      throw std::invalid_argument("DNS server " + s.address.to_string() + ": only IPv4 servers can be configured");
    }
  }
}

DnsAnswer StubResolver::lookup(std::string_view name, DnsType type, Clock::time_point deadline) const {
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now());
  if (left.count() < 1) {
    return DnsAnswer::temporary("deadline passed");
  }
  if (name.empty() || name.size() > 253) {
    DnsAnswer none;
    return none;  // nxdomain: no such name can exist
  }
  ThreadState& st = t_state;
  if (st.owner != id_ || !st.open) {
    st.close();
    if (res_ninit(&st.res) != 0) {
      return DnsAnswer::temporary("res_ninit failed");
    }
    st.open = true;
    st.owner = id_;
    if (!settings_.servers.empty()) {
      st.res.nscount = static_cast<int>(settings_.servers.size());
      for (std::size_t i = 0; i < settings_.servers.size(); ++i) {
        sockaddr_in& sa = st.res.nsaddr_list[i];
        std::memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons(settings_.servers[i].port);
        std::memcpy(&sa.sin_addr, settings_.servers[i].address.bytes().data(), 4);
      }
    }
    st.res.options |= RES_USE_EDNS0;
    st.res.options &= ~static_cast<unsigned long>(RES_DNSRCH | RES_DEFNAMES);
  }
  const auto per_try = std::min(settings_.timeout, left);
  st.res.retrans = static_cast<int>(std::max<std::int64_t>(1, per_try.count()));
  st.res.retry = std::clamp(static_cast<int>(left.count() / st.res.retrans), 1, settings_.attempts);

  std::array<unsigned char, 8192> reply{};
  const std::string query(name);
  const int n = res_nquery(&st.res, query.c_str(), ns_c_in, ns_type_of(type), reply.data(),
                           static_cast<int>(reply.size()));
  if (n < 0) {
    DnsAnswer answer;
    switch (st.res.res_h_errno) {
      case HOST_NOT_FOUND:
        answer.status = DnsStatus::nxdomain;
        answer.ttl = settings_.negative_ttl;
        return answer;
      case NO_DATA:
        answer.status = DnsStatus::no_data;
        answer.ttl = settings_.negative_ttl;
        return answer;
      default:
        return DnsAnswer::temporary(Clock::now() >= deadline ? "deadline passed" : "server failure or timeout");
    }
  }
  DnsAnswer answer = parse_reply(reply.data(), std::min(n, static_cast<int>(reply.size())), type);
  if (answer.status == DnsStatus::no_data) {
    answer.ttl = settings_.negative_ttl;
  }
  return answer;
}

}  // namespace postern::spf
