// postern-policy: see include/postern/policy/filter.hpp and docs/policy-milter.md.
#include "postern/milter/program.hpp"
#include "postern/policy/filter.hpp"
#include "postern/policy/filter_settings.hpp"

int main(int argc, char** argv) {
  const postern::milter::Program program{
      .name = "postern-policy",
      .short_name = "policy",
      .schema = &postern::policy::filter_schema(),
      .build = postern::policy::build_filter,
  };
  return postern::milter::run(argc, argv, program);
}
