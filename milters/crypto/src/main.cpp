// postern-crypto: see include/postern/crypto/crypto_filter.hpp and
// docs/crypto.md.
#include <malloc.h>

#include "postern/crypto/crypto_filter.hpp"
#include "postern/crypto/settings.hpp"
#include "postern/milter/program.hpp"

int main(int argc, char** argv) {
  // With glibc's defaults every large CMS buffer is a fresh mmap and page
  // faults dominate (docs/smime.md): keep buffers up to 32 MiB (glibc's
  // maximum for this setting) on the heap and keep up to 256 MiB of freed
  // heap instead of trimming it after every message.
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  const postern::milter::Program program{
      .name = "postern-crypto",
      .short_name = "crypto",
      .schema = &postern::crypto::schema(),
      .build = postern::crypto::build_filter,
  };
  return postern::milter::run(argc, argv, program);
}
