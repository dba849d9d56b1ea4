// postern-incamail: see include/postern/incamail/incamail_filter.hpp and
// docs/incamail.md.
#include "postern/incamail/incamail_filter.hpp"
#include "postern/incamail/settings.hpp"
#include "postern/milter/program.hpp"

int main(int argc, char** argv) {
  const postern::milter::Program program{
      .name = "postern-incamail",
      .short_name = "incamail",
      .schema = &postern::incamail::schema(),
      .build = postern::incamail::build_filter,
  };
  return postern::milter::run(argc, argv, program);
}
