// spf_rfc7208 - runs the OpenSPF RFC 7208 test suite through spf::Checker,
// the evaluation the milter uses, with the suite's zones served from memory.
// Prints every failure and "rfc7208: passed N of M"; exits 1 below the
// required count (argv[2]). Driver rules as the reference implementations use
// them (see ../shared/testdata/spf/README.md): an SPF record is served as TXT
// only when the name has no TXT of its own; TIMEOUT makes every type not
// otherwise present a temporary error; "TXT: NONE" means no TXT.
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "postern/core/strings.hpp"
#include "postern/spf/checker.hpp"
#include "postern/spf/zone_resolver.hpp"

namespace {

using namespace postern;

std::string text_of(const YAML::Node& n) {
  if (n.IsSequence()) {
    std::string joined;
    for (const auto& part : n) {
      joined += part.as<std::string>();
    }
    return joined;
  }
  return n.as<std::string>();
}

std::shared_ptr<spf::ZoneResolver> zone_of(const YAML::Node& zonedata) {
  auto zone = std::make_shared<spf::ZoneResolver>();
  for (const auto& entry : zonedata) {
    const auto name = entry.first.as<std::string>();
    zone->add_name(name);
    bool has_txt = false;
    std::vector<std::string> spf_records;
    for (const auto& rr : entry.second) {
      if (rr.IsScalar()) {
        if (rr.as<std::string>() == "TIMEOUT") {
          zone->add_timeout(name);
        }
        continue;
      }
      for (const auto& kv : rr) {
        const auto type = kv.first.as<std::string>();
        const YAML::Node& v = kv.second;
        if (type == "A" || type == "AAAA") {
          zone->add_address(name, *core::IpAddress::parse(v.as<std::string>()));
        } else if (type == "MX") {
          zone->add_mx(name, v[0].as<int>(), v[1].as<std::string>());
        } else if (type == "PTR") {
          zone->add_ptr(name, v.as<std::string>());
        } else if (type == "CNAME") {
          zone->add_cname(name, v.as<std::string>());
        } else if (type == "TXT") {
          has_txt = true;
          if (!(v.IsScalar() && v.as<std::string>() == "NONE")) {
            zone->add_txt(name, text_of(v));
          }
        } else if (type == "SPF") {
          if (!(v.IsSequence() && v.size() == 0) && !(v.IsScalar() && v.as<std::string>() == "NONE")) {
            spf_records.push_back(text_of(v));
          }
        }
      }
    }
    if (!has_txt) {
      for (auto& r : spf_records) {
        zone->add_txt(name, std::move(r));
      }
    }
  }
  return zone;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: spf_rfc7208 SUITE.yml [MIN_PASSED]\n";
    return 2;
  }
  const int required = argc > 2 ? std::atoi(argv[2]) : 0;
  int total = 0;
  int passed = 0;
  for (const auto& doc : YAML::LoadAllFromFile(argv[1])) {
    auto zone = zone_of(doc["zonedata"]);
    spf::Checker checker(zone);
    for (const auto& t : doc["tests"]) {
      const auto name = t.first.as<std::string>();
      const YAML::Node& c = t.second;
      ++total;
      auto client = core::IpAddress::parse(c["host"].as<std::string>());
      spf::Query q{spf::Identity::mailfrom, *client, c["helo"].as<std::string>(),
                   c["mailfrom"] ? c["mailfrom"].as<std::string>() : ""};
      const spf::Outcome out = checker.check(q);
      const std::string got = spf::to_string(out.result);
      std::vector<std::string> want;
      if (c["result"].IsSequence()) {
        for (const auto& r : c["result"]) {
          want.push_back(r.as<std::string>());
        }
      } else {
        want.push_back(c["result"].as<std::string>());
      }
      bool ok = false;
      for (const auto& w : want) {
        ok = ok || core::iequals(w, got);
      }
      if (ok) {
        ++passed;
      } else {
        std::cout << "FAIL " << name << ": got " << got << " (" << out.problem << "), want";
        for (const auto& w : want) {
          std::cout << ' ' << w;
        }
        std::cout << '\n';
      }
    }
  }
  std::cout << "rfc7208: passed " << passed << " of " << total << '\n';
  return passed >= required ? 0 : 1;
}
