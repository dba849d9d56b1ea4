#include "postern/spf/zone_resolver.hpp"

#include <algorithm>
#include <stdexcept>

#include "postern/core/strings.hpp"

namespace postern::spf {
namespace {

std::string key(std::string_view name) {
  std::string k = core::ascii_lower(name);
  while (!k.empty() && k.back() == '.') {
    k.pop_back();
  }
  return k;
}

// Reads one double-quoted string with C escapes starting at text[pos] == '"'.
std::string read_quoted(std::string_view text, std::size_t& pos, int line) {
  std::string out;
  ++pos;
  while (pos < text.size() && text[pos] != '"') {
    char c = text[pos++];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (pos >= text.size()) {
      break;
    }
    c = text[pos++];
    if (c >= '0' && c <= '9') {
      int value = c - '0';
      for (int i = 0; i < 2 && pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++i) {
        value = value * 10 + (text[pos++] - '0');
      }
      if (value > 255) {
        throw std::invalid_argument("line " + std::to_string(line) + ": escape out of range");
      }
      out += static_cast<char>(value);
    } else {
      out += c;
    }
  }
  if (pos >= text.size()) {
    throw std::invalid_argument("line " + std::to_string(line) + ": unterminated string");
  }
  ++pos;
  return out;
}

}  // namespace

ZoneResolver::Node& ZoneResolver::node(std::string_view name) { return nodes_[key(name)]; }

void ZoneResolver::add_address(std::string_view name, const core::IpAddress& address) {
  auto& n = node(name);
  (address.is_v4() ? n.a : n.aaaa).push_back(address);
}
void ZoneResolver::add_mx(std::string_view name, int preference, std::string_view target) {
  auto& n = node(name);
  n.mx.emplace_back(preference, key(target));
  std::stable_sort(n.mx.begin(), n.mx.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
}
void ZoneResolver::add_ptr(std::string_view name, std::string_view target) {
  node(name).ptr.push_back(key(target));
}
void ZoneResolver::add_cname(std::string_view name, std::string_view target) {
  node(name).cname = key(target);
}
void ZoneResolver::add_txt(std::string_view name, std::string text) { node(name).txt.push_back(std::move(text)); }
void ZoneResolver::add_timeout(std::string_view name) { node(name).timeout = true; }
void ZoneResolver::add_name(std::string_view name) { node(name); }

DnsAnswer ZoneResolver::lookup(std::string_view name, DnsType type, Clock::time_point deadline) const {
  if (Clock::now() >= deadline) {
    return DnsAnswer::temporary("deadline passed");
  }
  std::string current = key(name);
  for (int hops = 0; hops < 2; ++hops) {
    auto it = nodes_.find(current);
    if (it == nodes_.end()) {
      DnsAnswer a;
      a.status = DnsStatus::nxdomain;
      a.ttl = 300;
      return a;
    }
    const Node& n = it->second;
    if (!n.cname.empty()) {
      current = n.cname;
      continue;
    }
    DnsAnswer a;
    a.ttl = 300;
    switch (type) {
      case DnsType::a: a.addresses = n.a; break;
      case DnsType::aaaa: a.addresses = n.aaaa; break;
      case DnsType::txt: a.texts = n.txt; break;
      case DnsType::ptr: a.names = n.ptr; break;
      case DnsType::mx:
        for (const auto& [pref, target] : n.mx) {
          a.names.push_back(target);
        }
        break;
    }
    const bool any = !a.addresses.empty() || !a.texts.empty() || !a.names.empty();
    if (!any && n.timeout) {
      return DnsAnswer::temporary("timeout");
    }
    a.status = any ? DnsStatus::found : DnsStatus::no_data;
    return a;
  }
  DnsAnswer chained;  // a second CNAME is not followed: an empty answer
  chained.status = DnsStatus::no_data;
  return chained;
}

ZoneResolver ZoneResolver::parse(std::string_view text) {
  ZoneResolver zone;
  int line_no = 0;
  for (std::string_view raw : core::split(text, '\n')) {
    ++line_no;
    std::string_view line = core::trim(raw);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    auto fail = [&](const std::string& what) {
      return std::invalid_argument("zone line " + std::to_string(line_no) + ": " + what);
    };
    const auto sp1 = line.find_first_of(" \t");
    if (sp1 == std::string_view::npos) {
      throw fail("expected NAME TYPE VALUE");
    }
    const std::string_view name = line.substr(0, sp1);
    std::string_view rest = core::trim(line.substr(sp1));
    const auto sp2 = rest.find_first_of(" \t");
    const std::string type = core::ascii_lower(rest.substr(0, sp2));
    const std::string_view value = sp2 == std::string_view::npos ? std::string_view{} : core::trim(rest.substr(sp2));
    if (type == "timeout") {
      zone.add_timeout(name);
    } else if (type == "a" || type == "aaaa") {
      auto address = core::IpAddress::parse(value);
      if (!address || address->is_v4() != (type == "a")) {
        throw fail("bad address '" + std::string(value) + "'");
      }
      zone.add_address(name, *address);
    } else if (type == "mx") {
      const auto sp = value.find_first_of(" \t");
      if (sp == std::string_view::npos) {
        throw fail("MX needs PREFERENCE TARGET");
      }
      std::string target(core::trim(value.substr(sp)));
      if (target == "\"\"") {
        target.clear();
      }
      int preference = 0;
      for (char c : value.substr(0, sp)) {
        if (c < '0' || c > '9' || preference > 65535) {
          throw fail("bad MX preference");
        }
        preference = preference * 10 + (c - '0');
      }
      zone.add_mx(name, preference, target);
    } else if (type == "ptr") {
      zone.add_ptr(name, value);
    } else if (type == "cname") {
      zone.add_cname(name, value);
    } else if (type == "txt") {
      std::string joined;
      std::size_t pos = 0;
      while (pos < value.size()) {
        if (value[pos] == ' ' || value[pos] == '\t') {
          ++pos;
        } else if (value[pos] == '"') {
          joined += read_quoted(value, pos, line_no);
        } else {
          throw fail("TXT strings must be quoted");
        }
      }
      zone.add_txt(name, std::move(joined));
    } else {
      throw fail("unknown type '" + type + "'");
    }
  }
  return zone;
}

}  // namespace postern::spf
