// NAME
//   address_fuzz - address lists and envelope paths on arbitrary bytes
// DESCRIPTION
//   Besides not crashing: every mailbox accepted from a header can be
//   written as an envelope path that parses back to the same address.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "postern/mime/address.hpp"

namespace {

void check_round_trip(const postern::mime::Mailbox& mailbox) {
  using namespace postern::mime;
  mailbox.addr_spec();
  mailbox.domain_unicode();
  auto again = parse_envelope_path(mailbox.to_envelope());
  if (!again || !again->same_address(mailbox)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace postern::mime;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  try {
    for (const Mailbox& mailbox : parse_address_list(input)) {
      check_round_trip(mailbox);
    }
  } catch (const AddressError&) {
  }
  try {
    if (auto mailbox = parse_envelope_path(input)) {
      check_round_trip(*mailbox);
    }
  } catch (const AddressError&) {
  }
  return 0;
}
