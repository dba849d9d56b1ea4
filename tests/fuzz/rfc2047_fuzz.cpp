// NAME
//   rfc2047_fuzz - RFC 2047 decoding and encoding on arbitrary bytes
// DESCRIPTION
//   Besides not crashing: whatever decodes to valid UTF-8 encodes into a
//   header value that decodes back to the same text, for a short and a long
//   field name.
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "postern/mime/encoded_word.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace postern::mime;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string text = decode_header_text(input);
  try {
    for (std::string_view name : {"Subject", "X-A-Rather-Long-Header-Field-Name-Taking-Room"}) {
      if (decode_header_text(encode_header_text(name, text)) != text) {
        std::abort();
      }
    }
  } catch (const std::invalid_argument&) {
    // text kept bytes that are not UTF-8: the encoder refuses those
  }
  return 0;
}
