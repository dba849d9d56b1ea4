// NAME
//   header_fuzz - HeaderBlock::parse on arbitrary bytes
// DESCRIPTION
//   Besides not crashing: what was consumed serializes back byte for byte,
//   and consumed() never passes the input.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "postern/mime/header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace postern::mime;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  HeaderLimits limits;
  limits.max_fields = 200;
  limits.max_line_length = 2000;
  limits.max_field_size = 8000;
  try {
    HeaderBlock block = HeaderBlock::parse(input, limits);
    if (block.consumed() > input.size() || block.serialize() != input.substr(0, block.consumed())) {
      std::abort();
    }
    for (const Header& field : block.fields()) {
      if (field.name.empty() || field.value().size() > field.raw_value.size()) {
        std::abort();
      }
    }
  } catch (const LimitError&) {
  }
  return 0;
}
