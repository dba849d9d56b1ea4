// NAME
//   mime_fuzz - parse_message on arbitrary bytes
// DESCRIPTION
//   Besides not crashing: every range lies inside its parent and the input,
//   each header block serializes to exactly its bytes, and decoding each
//   body or filename is safe.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "postern/mime/part.hpp"

namespace {

using postern::mime::Part;
using postern::mime::Range;

void check(const Part& part, Range parent, std::string_view message) {
  bool ok = parent.begin <= part.header.begin && part.header.begin <= part.header.end &&
            part.header.end == part.body.begin && part.body.begin <= part.body.end && part.body.end <= parent.end &&
            part.headers.serialize() == part.header.of(message);
  if (!ok) {
    std::abort();
  }
  part.filename();
  part.decoded_body(message);
  std::size_t at = part.body.begin;
  for (const Part& child : part.children) {
    if (child.header.begin < at) {
      std::abort();  // children overlap or run backwards
    }
    check(child, part.body, message);
    at = child.body.end;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace postern::mime;
  std::string_view message(reinterpret_cast<const char*>(data), size);
  MimeLimits limits;
  limits.max_depth = 30;
  limits.max_parts = 1000;
  try {
    Part root = parse_message(message, limits);
    check(root, Range{0, message.size()}, message);
  } catch (const LimitError&) {
  }
  return 0;
}
