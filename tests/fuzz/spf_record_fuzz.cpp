// spf_record_fuzz - any TXT text as the sender's SPF record, through the
// whole check: strict parsing, rendering for an IPv4 and an IPv6 client,
// libspf2's compiler and interpreter. Whatever our parser lets through must
// never crash libspf2; whatever it refuses must be a permerror.
#include <cstdint>
#include <memory>
#include <string>

#include "postern/spf/checker.hpp"
#include "postern/spf/record.hpp"
#include "postern/spf/zone_resolver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace postern;
  const std::string text(reinterpret_cast<const char*>(data), std::min<std::size_t>(size, 4096));
  auto zone = std::make_shared<spf::ZoneResolver>();
  zone->add_txt("e.example", "v=spf1 " + text);
  zone->add_txt("i.example", text);
  zone->add_address("e.example", *core::IpAddress::parse("192.0.2.1"));
  zone->add_mx("e.example", 10, "e.example");
  const spf::Checker checker(zone, spf::Limits{std::chrono::milliseconds(500), 10, 2});
  for (const char* client : {"192.0.2.7", "2001:db8::7"}) {
    const auto ip = *core::IpAddress::parse(client);
    const auto out = checker.check({spf::Identity::mailfrom, ip, "h.example", "a.b@e.example"});
    bool valid = true;
    try {
      spf::render(spf::parse_record("v=spf1 " + text), ip);
    } catch (const spf::RecordError&) {
      valid = false;
    }
    if (!valid && out.result != spf::Result::permerror) {
      __builtin_trap();  // a record we refuse was evaluated anyway
    }
    checker.check({spf::Identity::pra, ip, "h.example", "x@i.example"});
  }
  return 0;
}
