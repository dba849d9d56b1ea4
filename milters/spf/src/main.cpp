// postern-spf: see include/postern/spf_milter/spf_filter.hpp and docs/spf.md.
#include "postern/milter/program.hpp"
#include "postern/spf_milter/settings.hpp"
#include "postern/spf_milter/spf_filter.hpp"

int main(int argc, char** argv) {
  const postern::milter::Program program{
      .name = "postern-spf",
      .short_name = "spf",
      .schema = &postern::spf_milter::schema(),
      .build = postern::spf_milter::build_filter,
  };
  return postern::milter::run(argc, argv, program);
}
