#include <gtest/gtest.h>

#include <string>

#include "postern/config/schema.hpp"

namespace postern::config {
namespace {

Schema make_schema() {
  Schema s("postern-test", "Settings of the test milter.");
  s.key({.path = "enabled", .type = Type::boolean, .default_value = "true", .doc = "master switch"});
  s.section("milter", "How Postfix reaches the milter.");
  s.key({.path = "milter.socket", .type = Type::string, .default_value = "unix:/run/t.sock", .doc = "listening socket"});
  s.key({.path = "milter.timeout",
         .type = Type::duration,
         .default_value = "300s",
         .doc = "idle time | then drop",
         .min = 1000,
         .max = 3600 * 1000});
  s.key({.path = "milter.backlog", .type = Type::integer, .default_value = "128", .doc = "queue", .min = 1});
  s.key({.path = "milter.mode",
         .type = Type::string,
         .default_value = "tempfail",
         .doc = "on failure",
         .choices = {"tempfail", "accept"}});
  s.section("empty", "");
  s.section("files", "Where things are.\nOne per line.");
  s.key({.path = "files.key", .type = Type::path, .doc = "private key", .required = true});
  s.key({.path = "files.max", .type = Type::size, .default_value = "30M", .doc = "largest", .max = 1LL << 30});
  s.key({.path = "files.names", .type = Type::string_list, .default_value = "", .doc = "names"});
  s.key({.path = "files.nets", .type = Type::network_list, .default_value = "[127.0.0.1]", .doc = "who"});
  s.key({.path = "files.user", .type = Type::string, .default_value = "\"\"", .doc = "user"});
  return s;
}

TEST(Reference, DocumentsEveryKeyInDeclarationOrder) {
  const std::string expected =
      "# postern-test configuration reference\n"
      "\n"
      "Settings of the test milter.\n"
      "\n"
      "| key | type | default | allowed | description |\n"
      "|---|---|---|---|---|\n"
      "| `enabled` | boolean | `true` | `true`, `false` | master switch |\n"
      "\n"
      "## milter\n"
      "\n"
      "How Postfix reaches the milter.\n"
      "\n"
      "| key | type | default | allowed | description |\n"
      "|---|---|---|---|---|\n"
      "| `milter.socket` | string | `unix:/run/t.sock` |  | listening socket |\n"
      "| `milter.timeout` | duration | `300s` | 1s to 1h | idle time \\| then drop |\n"
      "| `milter.backlog` | integer | `128` | at least 1 | queue |\n"
      "| `milter.mode` | string | `tempfail` | `tempfail`, `accept` | on failure |\n"
      "\n"
      "## empty\n"
      "\n"
      "## files\n"
      "\n"
      "Where things are.\nOne per line.\n"
      "\n"
      "| key | type | default | allowed | description |\n"
      "|---|---|---|---|---|\n"
      "| `files.key` | path | *required* | absolute path | private key |\n"
      "| `files.max` | size | `30M` | at most 1G | largest |\n"
      "| `files.names` | string_list | *empty* |  | names |\n"
      "| `files.nets` | network_list | `[127.0.0.1]` | IP addresses and CIDR prefixes | who |\n"
      "| `files.user` | string | `\"\"` |  | user |\n"
      "\n";
  EXPECT_EQ(reference_markdown(make_schema()), expected);
}

TEST(Reference, IsDeterministic) { EXPECT_EQ(reference_markdown(make_schema()), reference_markdown(make_schema())); }

TEST(Reference, SchemaWithoutKeysOrDoc) {
  EXPECT_EQ(reference_markdown(Schema("p", "")), "# p configuration reference\n\n");
}

}  // namespace
}  // namespace postern::config
