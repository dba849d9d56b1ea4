#include "postern/config/config.hpp"

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace postern::config {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Configs keep a pointer to their schema: schemas are static objects.
const Schema& test_schema() {
  static const Schema schema = [] {
    Schema s("postern-test", "A program for tests");
    s.key({.path = "enabled", .type = Type::boolean, .default_value = "true", .doc = "on or off"});
    s.section("milter", "The milter socket");
    s.key({.path = "milter.socket", .type = Type::string, .default_value = "inet:8891@127.0.0.1", .doc = "socket"});
    s.key({.path = "milter.timeout",
           .type = Type::duration,
           .default_value = "300s",
           .doc = "timeout",
           .min = 1000,
           .max = 3600 * 1000});
    s.key({.path = "milter.backlog", .type = Type::integer, .default_value = "128", .doc = "backlog", .min = 1, .max = 65535});
    s.key({.path = "milter.on_internal_error",
           .type = Type::string,
           .default_value = "tempfail",
           .doc = "answer",
           .choices = {"tempfail", "accept", "reject"}});
    s.section("limits", "Limits");
    s.key({.path = "limits.max_size", .type = Type::size, .default_value = "30M", .doc = "largest", .min = 1, .max = 1LL << 40});
    s.key({.path = "limits.name", .type = Type::string, .default_value = "\"\"", .doc = "a name"});
    s.section("paths", "Files");
    s.key({.path = "paths.key_file", .type = Type::path, .doc = "key", .required = true});
    s.key({.path = "paths.cert_dir", .type = Type::path, .default_value = "/var/lib/postern", .doc = "certs"});
    s.section("access", "Who may connect");
    s.key({.path = "access.trusted", .type = Type::network_list, .default_value = "[127.0.0.0/8, '::1']", .doc = "nets"});
    s.key({.path = "access.domains", .type = Type::string_list, .default_value = "", .doc = "domains"});
    return s;
  }();
  return schema;
}

// The same keys without the required one.
const Schema& optional_schema() {
  static const Schema schema = [] {
    Schema s("postern-test", "");
    for (const auto& [path, doc] : test_schema().sections()) {
      s.section(path, doc);
    }
    for (const auto& key : test_schema().keys()) {
      if (!key.required) {
        s.key(key);
      }
    }
    return s;
  }();
  return schema;
}

std::vector<std::string> problems(const std::string& yaml, const Schema& schema = test_schema()) {
  try {
    load_string(schema, yaml, "t.yaml");
  } catch (const core::ConfigError& e) {
    std::vector<std::string> out;
    for (const auto& d : e.diagnostics()) {
      out.push_back(d.to_string());
    }
    return out;
  }
  return {};
}

void expect_defaults(const Config& c) {
  EXPECT_TRUE(c.get_bool("enabled"));
  EXPECT_EQ(c.get_string("milter.socket"), "inet:8891@127.0.0.1");
  EXPECT_EQ(c.get_duration("milter.timeout"), 300s);
  EXPECT_EQ(c.get_int("milter.backlog"), 128);
  EXPECT_EQ(c.get_string("milter.on_internal_error"), "tempfail");
  EXPECT_EQ(c.get_size("limits.max_size"), 30u * 1024 * 1024);
  EXPECT_EQ(c.get_string("limits.name"), "");
  EXPECT_EQ(c.get_string("paths.cert_dir"), "/var/lib/postern");
  ASSERT_EQ(c.get_networks("access.trusted").size(), 2u);
  EXPECT_EQ(c.get_networks("access.trusted")[1].to_string(), "::1/128");
  EXPECT_TRUE(c.get_list("access.domains").empty());
  for (const char* path : {"enabled", "milter.timeout", "limits.max_size", "access.trusted", "access.domains"}) {
    EXPECT_FALSE(c.is_set(path)) << path;
    EXPECT_EQ(c.where(path).file, "<default>") << path;
    EXPECT_EQ(c.where(path).line, 0) << path;
    EXPECT_EQ(c.where(path).column, 0) << path;
  }
}

TEST(Config, DefaultsOfAnOptionalSchema) {
  const Config c = defaults(optional_schema());
  expect_defaults(c);
  EXPECT_EQ(c.source(), "<defaults>");
  EXPECT_EQ(&c.schema(), &optional_schema());
}

TEST(Config, DefaultsRefuseRequiredKeys) {
  try {
    defaults(test_schema());
    FAIL() << "no error";
  } catch (const core::ConfigError& e) {
    EXPECT_STREQ(e.what(), "<defaults>: missing required key 'paths.key_file'");
  }
}

class EmptyFileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EmptyFileTest, GivesAllDefaults) { expect_defaults(load_string(optional_schema(), GetParam(), "t.yaml")); }

INSTANTIATE_TEST_SUITE_P(Config, EmptyFileTest,
                         ::testing::Values("", "# all commented out\n#milter:\n#  backlog: 5\n", "---\n",
                                           "milter:\nlimits:\n  # max_size: 1M\n"));

TEST(Config, ReadsEveryTypeAndRemembersWhere) {
  const Config c = load_string(test_schema(),
                               "enabled: false\n"
                               "milter:\n"
                               "  socket: unix:/run/postern/test.sock\n"
                               "  timeout: 90s\n"
                               "  backlog: 7\n"
                               "  on_internal_error: reject\n"
                               "limits:\n"
                               "  max_size: 1G\n"
                               "  name: \"yes\"\n"
                               "paths:\n"
                               "  key_file: /etc/postern/key.pem\n"
                               "access:\n"
                               "  trusted:\n"
                               "    - 10.0.0.0/8\n"
                               "    - 2001:db8::/32\n"
                               "  domains: [example.org, 'example.net']\n",
                               "t.yaml");
  EXPECT_FALSE(c.get_bool("enabled"));
  EXPECT_EQ(c.get_string("milter.socket"), "unix:/run/postern/test.sock");
  EXPECT_EQ(c.get_duration("milter.timeout"), 90s);
  EXPECT_EQ(c.get_int("milter.backlog"), 7);
  EXPECT_EQ(c.get_string("milter.on_internal_error"), "reject");
  EXPECT_EQ(c.get_size("limits.max_size"), 1024u * 1024 * 1024);
  EXPECT_EQ(c.get_string("limits.name"), "yes");
  EXPECT_EQ(c.get_string("paths.key_file"), "/etc/postern/key.pem");
  EXPECT_EQ(c.get_string("paths.cert_dir"), "/var/lib/postern");  // default
  ASSERT_EQ(c.get_networks("access.trusted").size(), 2u);
  EXPECT_TRUE(core::contains_any(c.get_networks("access.trusted"), *core::IpAddress::parse("10.9.8.7")));
  EXPECT_FALSE(core::contains_any(c.get_networks("access.trusted"), *core::IpAddress::parse("127.0.0.1")));
  EXPECT_THAT(c.get_list("access.domains"), ElementsAre("example.org", "example.net"));

  EXPECT_TRUE(c.is_set("milter.backlog"));
  EXPECT_FALSE(c.is_set("paths.cert_dir"));
  EXPECT_EQ(c.where("milter.backlog").file, "t.yaml");
  EXPECT_EQ(c.where("milter.backlog").line, 5);
  EXPECT_EQ(c.where("milter.backlog").column, 12);
  EXPECT_EQ(c.where("access.trusted").line, 14);
  EXPECT_EQ(c.source(), "t.yaml");
}

// A string key takes any scalar as written: YAML's idea of its type is not asked.
struct StringCase {
  std::string yaml;
  std::string value;
};

class StringValueTest : public ::testing::TestWithParam<StringCase> {};

TEST_P(StringValueTest, IsKeptAsWritten) {
  const Config c = load_string(optional_schema(), "limits:\n  name: " + GetParam().yaml + "\n", "t.yaml");
  EXPECT_EQ(c.get_string("limits.name"), GetParam().value);
}

INSTANTIATE_TEST_SUITE_P(Config, StringValueTest,
                         ::testing::Values(StringCase{"\"true\"", "true"}, StringCase{"true", "true"},
                                           StringCase{"no", "no"}, StringCase{"0777", "0777"},
                                           StringCase{"1.10", "1.10"}, StringCase{"''", ""},
                                           StringCase{"\"null\"", "null"}, StringCase{"'~'", "~"},
                                           StringCase{"\"Gr\\u00fc\\u00dfe\"", "Gr\xc3\xbc\xc3\x9f" "e"}));

enum class OnError { tempfail, accept, reject };

TEST(Config, ChooseMapsAChoiceToItsEnumValue) {
  const Config c = load_string(optional_schema(), "milter:\n  on_internal_error: reject\n", "t.yaml");
  const auto table = {std::pair{"tempfail", OnError::tempfail}, std::pair{"accept", OnError::accept},
                      std::pair{"reject", OnError::reject}};
  EXPECT_EQ(choose<OnError>(c, "milter.on_internal_error", table), OnError::reject);
  EXPECT_EQ(choose<OnError>(defaults(optional_schema()), "milter.on_internal_error", table), OnError::tempfail);
  // A table that drifted from the schema's choices is an error at the key.
  try {
    choose<OnError>(c, "milter.on_internal_error", {{"tempfail", OnError::tempfail}});
    FAIL() << "no error for a choice the table lacks";
  } catch (const core::ConfigError& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("t.yaml:2:"));
    EXPECT_THAT(e.what(), testing::HasSubstr("unhandled choice 'reject'"));
  }
}

TEST(Config, QuotedBooleanIsStillTrueOrFalse) {
  EXPECT_FALSE(load_string(optional_schema(), "enabled: \"false\"\n", "t.yaml").get_bool("enabled"));
}

TEST(Config, EmptyListForms) {
  for (const char* yaml : {"access:\n  domains: []\n  trusted: []\n", "access:\n  domains:\n  trusted:\n"}) {
    const Config c = load_string(optional_schema(), yaml, "t.yaml");
    EXPECT_TRUE(c.get_list("access.domains").empty()) << yaml;
    EXPECT_TRUE(c.get_networks("access.trusted").empty()) << yaml;
    EXPECT_TRUE(c.is_set("access.trusted")) << yaml;
  }
}

TEST(Config, AliasesWork) {
  const Config c = load_string(optional_schema(),
                               "access:\n  domains: &d [a.example, b.example]\nlimits:\n  name: &n x\n"
                               "milter:\n  socket: *n\n",
                               "t.yaml");
  EXPECT_EQ(c.get_string("milter.socket"), "x");
  EXPECT_EQ(c.where("milter.socket").line, 6);
}

struct ProblemCase {
  std::string name;
  std::string yaml;
  std::vector<std::string> diagnostics;
};

class ProblemTest : public ::testing::TestWithParam<ProblemCase> {};

TEST_P(ProblemTest, IsReportedWithItsLocation) {
  EXPECT_THAT(problems(GetParam().yaml, optional_schema()), ElementsAreArray(GetParam().diagnostics));
}

INSTANTIATE_TEST_SUITE_P(
    Config, ProblemTest,
    ::testing::Values(
        // booleans
        ProblemCase{"BooleanYes", "enabled: yes\n", {"t.yaml:1:10: enabled: 'yes' is not a boolean: use true or false"}},
        ProblemCase{"BooleanNo", "enabled: no\n", {"t.yaml:1:10: enabled: 'no' is not a boolean: use true or false"}},
        ProblemCase{"BooleanOn", "enabled: on\n", {"t.yaml:1:10: enabled: 'on' is not a boolean: use true or false"}},
        ProblemCase{"BooleanOff", "enabled: off\n", {"t.yaml:1:10: enabled: 'off' is not a boolean: use true or false"}},
        ProblemCase{"BooleanCapital", "enabled: True\n", {"t.yaml:1:10: enabled: 'True' is not a boolean: use true or false"}},
        ProblemCase{"BooleanNumber", "enabled: 1\n", {"t.yaml:1:10: enabled: '1' is not a boolean: use true or false"}},
        ProblemCase{"BooleanList", "enabled: [true]\n", {"t.yaml:1:10: enabled: expected true or false, got a list"}},
        ProblemCase{"BooleanEmpty", "enabled:\n", {"t.yaml:1:1: enabled: no value given (expected true or false)"}},
        // integers
        ProblemCase{"IntegerText", "milter:\n  backlog: many\n", {"t.yaml:2:12: milter.backlog: 'many' is not an integer"}},
        ProblemCase{"IntegerFraction", "milter:\n  backlog: 1.5\n", {"t.yaml:2:12: milter.backlog: '1.5' is not an integer"}},
        ProblemCase{"IntegerHex", "milter:\n  backlog: 0x10\n", {"t.yaml:2:12: milter.backlog: '0x10' is not an integer"}},
        ProblemCase{"IntegerPlus", "milter:\n  backlog: +5\n", {"t.yaml:2:12: milter.backlog: '+5' is not an integer"}},
        ProblemCase{"IntegerOverflow", "milter:\n  backlog: 99999999999999999999\n",
                    {"t.yaml:2:12: milter.backlog: '99999999999999999999' is out of range for an integer"}},
        ProblemCase{"IntegerBelowMin", "milter:\n  backlog: 0\n", {"t.yaml:2:12: milter.backlog: '0' is less than the minimum 1"}},
        ProblemCase{"IntegerNegative", "milter:\n  backlog: -3\n", {"t.yaml:2:12: milter.backlog: '-3' is less than the minimum 1"}},
        ProblemCase{"IntegerAboveMax", "milter:\n  backlog: 65536\n",
                    {"t.yaml:2:12: milter.backlog: '65536' is more than the maximum 65535"}},
        ProblemCase{"IntegerEmpty", "milter:\n  backlog:\n", {"t.yaml:2:3: milter.backlog: no value given (expected an integer)"}},
        // sizes
        ProblemCase{"SizeUnit", "limits:\n  max_size: 30MB\n",
                    {"t.yaml:2:13: limits.max_size: '30MB' is not a size: write bytes, or a number with K, M or G"}},
        ProblemCase{"SizeFraction", "limits:\n  max_size: 1.5M\n",
                    {"t.yaml:2:13: limits.max_size: '1.5M' is not a size: write bytes, or a number with K, M or G"}},
        ProblemCase{"SizeNegative", "limits:\n  max_size: -1\n",
                    {"t.yaml:2:13: limits.max_size: '-1' is not a size: write bytes, or a number with K, M or G"}},
        ProblemCase{"SizeEmptyString", "limits:\n  max_size: ''\n",
                    {"t.yaml:2:13: limits.max_size: '' is not a size: write bytes, or a number with K, M or G"}},
        ProblemCase{"SizeOverflow", "limits:\n  max_size: 99999999999999999999G\n",
                    {"t.yaml:2:13: limits.max_size: '99999999999999999999G' is too large for a size"}},
        ProblemCase{"SizeZero", "limits:\n  max_size: 0\n", {"t.yaml:2:13: limits.max_size: '0' is less than the minimum 1"}},
        ProblemCase{"SizeAboveMax", "limits:\n  max_size: 1025G\n",
                    {"t.yaml:2:13: limits.max_size: '1025G' is more than the maximum 1024G"}},
        // durations
        ProblemCase{"DurationUnit", "milter:\n  timeout: 5min\n",
                    {"t.yaml:2:12: milter.timeout: '5min' is not a duration: write a number with ms, s, m or h"}},
        ProblemCase{"DurationSpace", "milter:\n  timeout: 5 s\n",
                    {"t.yaml:2:12: milter.timeout: '5 s' is not a duration: write a number with ms, s, m or h"}},
        ProblemCase{"DurationCapital", "milter:\n  timeout: 5S\n",
                    {"t.yaml:2:12: milter.timeout: '5S' is not a duration: write a number with ms, s, m or h"}},
        ProblemCase{"DurationCompound", "milter:\n  timeout: 1h30m\n",
                    {"t.yaml:2:12: milter.timeout: '1h30m' is not a duration: write a number with ms, s, m or h"}},
        ProblemCase{"DurationOverflow", "milter:\n  timeout: 99999999999999999999ms\n",
                    {"t.yaml:2:12: milter.timeout: '99999999999999999999ms' is too large for a duration"}},
        ProblemCase{"DurationBelowMin", "milter:\n  timeout: 999ms\n",
                    {"t.yaml:2:12: milter.timeout: '999ms' is less than the minimum 1s"}},
        ProblemCase{"DurationAboveMax", "milter:\n  timeout: 61m\n",
                    {"t.yaml:2:12: milter.timeout: '61m' is more than the maximum 1h"}},
        // strings and paths
        ProblemCase{"Choice", "milter:\n  on_internal_error: drop\n",
                    {"t.yaml:2:22: milter.on_internal_error: 'drop' is not one of: tempfail, accept, reject"}},
        ProblemCase{"ChoiceIsCaseSensitive", "milter:\n  on_internal_error: Reject\n",
                    {"t.yaml:2:22: milter.on_internal_error: 'Reject' is not one of: tempfail, accept, reject"}},
        ProblemCase{"StringMapping", "milter:\n  socket: {a: 1}\n", {"t.yaml:2:11: milter.socket: expected a string, got a mapping"}},
        ProblemCase{"StringList", "milter:\n  socket: [a]\n", {"t.yaml:2:11: milter.socket: expected a string, got a list"}},
        ProblemCase{"RelativePath", "paths:\n  cert_dir: etc/certs\n",
                    {"t.yaml:2:13: paths.cert_dir: 'etc/certs' is not an absolute path"}},
        ProblemCase{"EmptyPath", "paths:\n  cert_dir: \"\"\n", {"t.yaml:2:13: paths.cert_dir: '' is not an absolute path"}},
        ProblemCase{"TildePath", "paths:\n  cert_dir: '~/certs'\n",
                    {"t.yaml:2:13: paths.cert_dir: '~/certs' is not an absolute path"}},
        // lists
        ProblemCase{"ListScalar", "access:\n  domains: example.org\n",
                    {"t.yaml:2:12: access.domains: expected a list, got a scalar: write ['example.org'] for a list of one"}},
        ProblemCase{"ListMapping", "access:\n  domains: {a: b}\n", {"t.yaml:2:12: access.domains: expected a list, got a mapping"}},
        ProblemCase{"ListItems", "access:\n  domains: [a, [b], {c: d}, ~]\n",
                    {"t.yaml:2:16: access.domains: list items must be scalars, not a list",
                     "t.yaml:2:21: access.domains: list items must be scalars, not a mapping",
                     "t.yaml:2:29: access.domains: list items must be scalars, not a null"}},
        ProblemCase{"NetworkEntries",
                    "access:\n  trusted:\n    - 10.0.0.0/8\n    - 10.1.2.3/8\n    - mail.example.org\n    - ::1\n"
                    "    - 192.0.2.0/33\n",
                    {"t.yaml:4:7: access.trusted: '10.1.2.3/8' has host bits set (did you mean 10.0.0.0/8?)",
                     "t.yaml:5:7: access.trusted: 'mail.example.org' is not an IP address or network",
                     "t.yaml:7:7: access.trusted: '192.0.2.0/33': prefix length must be a number from 0 to 32"}},
        ProblemCase{"NetworkScalar", "access:\n  trusted: 10.0.0.0/8\n",
                    {"t.yaml:2:12: access.trusted: expected a list of networks, got a scalar: write ['10.0.0.0/8'] for a list of one"}},
        // structure
        ProblemCase{"UnknownTopLevelKey", "enabeld: true\n", {"t.yaml:1:1: unknown key 'enabeld' (did you mean 'enabled'?)"}},
        ProblemCase{"UnknownNestedKey", "milter:\n  sockt: x\n",
                    {"t.yaml:2:3: unknown key 'milter.sockt' (did you mean 'milter.socket'?)"}},
        ProblemCase{"UnknownKeyClosest", "milter:\n  timeouts: 5s\n",
                    {"t.yaml:2:3: unknown key 'milter.timeouts' (did you mean 'milter.timeout'?)"}},
        ProblemCase{"UnknownKeyInOtherSection", "max_size: 1M\n",
                    {"t.yaml:1:1: unknown key 'max_size' (did you mean 'limits.max_size'?)"}},
        ProblemCase{"UnknownKeyNoHint", "milter:\n  colour: blue\n", {"t.yaml:2:3: unknown key 'milter.colour'"}},
        ProblemCase{"UnknownKeyTooFar", "milter:\n  xocxex: x\n", {"t.yaml:2:3: unknown key 'milter.xocxex'"}},
        ProblemCase{"UnknownSection", "miltr:\n  sockt: x\n", {"t.yaml:1:1: unknown key 'miltr' (did you mean 'milter'?)"}},
        ProblemCase{"SectionKeyAsKey", "milter:\n  milter: x\n", {"t.yaml:2:3: unknown key 'milter.milter' (did you mean 'milter'?)"}},
        ProblemCase{"DottedKey", "milter.socket: x\n", {"t.yaml:1:1: key 'milter.socket' contains '.': nest its parts as mappings"}},
        ProblemCase{"SectionScalar", "milter: 5\n", {"t.yaml:1:9: milter: expected a mapping (a section), got a scalar"}},
        ProblemCase{"SectionList", "limits:\n  - max_size: 1M\n", {"t.yaml:2:3: limits: expected a mapping (a section), got a list"}},
        ProblemCase{"TopLevelList", "- enabled\n", {"t.yaml:1:1: the top level must be a mapping, not a list"}},
        ProblemCase{"TopLevelScalar", "hello\n", {"t.yaml:1:1: the top level must be a mapping, not a scalar"}},
        ProblemCase{"ParseErrorsFirst", "enabled: yes\nenabled: no\n", {"t.yaml:2:1: duplicate key 'enabled' (first at line 1)"}},
        ProblemCase{"AllProblemsAtOnce",
                    "enabled: on\nmilter:\n  backlog: 0\n  sockt: x\nlimits:\n  max_size: 1T\n",
                    {"t.yaml:1:10: enabled: 'on' is not a boolean: use true or false",
                     "t.yaml:3:12: milter.backlog: '0' is less than the minimum 1",
                     "t.yaml:4:3: unknown key 'milter.sockt' (did you mean 'milter.socket'?)",
                     "t.yaml:6:13: limits.max_size: '1T' is not a size: write bytes, or a number with K, M or G"}}),
    [](const ::testing::TestParamInfo<ProblemCase>& p) { return p.param.name; });

TEST(Config, MissingRequiredKey) {
  EXPECT_THAT(problems(""), ElementsAre("t.yaml: missing required key 'paths.key_file'"));
  EXPECT_THAT(problems("enabled: true\n"), ElementsAre("t.yaml: missing required key 'paths.key_file'"));
  // With its section present, the section is where it is missing.
  EXPECT_THAT(problems("enabled: true\npaths:\n  cert_dir: /x\n"),
              ElementsAre("t.yaml:2:1: missing required key 'paths.key_file'"));
  // A required key with a bad value is reported once, for the value.
  EXPECT_THAT(problems("paths:\n  key_file: key.pem\n"),
              ElementsAre("t.yaml:2:13: paths.key_file: 'key.pem' is not an absolute path"));
}

TEST(Config, ControlCharactersInKeysStayOnOneLine) {
  EXPECT_THAT(problems("\"bad\\nkey\": 1\n", optional_schema()), ElementsAre("t.yaml:1:1: unknown key 'bad\\x0akey'"));
}

TEST(Config, GettersRefuseProgrammingErrors) {
  const Config c = defaults(optional_schema());
  EXPECT_THROW(c.get_bool("milter"), std::logic_error);          // a section
  EXPECT_THROW(c.get_bool("nonexistent"), std::logic_error);     // undeclared
  EXPECT_THROW(c.get_int("enabled"), std::logic_error);          // wrong type
  EXPECT_THROW(c.get_size("milter.backlog"), std::logic_error);  // integer is not size
  EXPECT_THROW(c.get_string("access.domains"), std::logic_error);
  EXPECT_THROW(c.get_list("access.trusted"), std::logic_error);
  EXPECT_THROW(c.get_networks("access.domains"), std::logic_error);
  EXPECT_THROW(c.get_duration("limits.max_size"), std::logic_error);
  EXPECT_THROW(c.where("nonexistent"), std::logic_error);
  EXPECT_THROW(c.is_set("nonexistent"), std::logic_error);
  EXPECT_EQ(c.get_string("paths.cert_dir"), "/var/lib/postern");  // a path reads as a string
  try {
    c.get_int("enabled");
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "configuration key 'enabled' has type boolean, read as integer");
  }
}

TEST(Config, LoadFile) {
  std::string dir = ::testing::TempDir() + "config_test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/p.yaml";
  std::ofstream(path) << "paths:\n  key_file: /k.pem\nmilter:\n  backlog: 0\n";
  try {
    load_file(test_schema(), path);
    ADD_FAILURE() << "no error";
  } catch (const core::ConfigError& e) {
    EXPECT_EQ(e.what(), path + ":4:12: milter.backlog: '0' is less than the minimum 1");
  }
  std::ofstream(path) << "paths:\n  key_file: /k.pem\n";
  const Config c = load_file(test_schema(), path);
  EXPECT_EQ(c.source(), path);
  EXPECT_EQ(c.where("paths.key_file").file, path);
  EXPECT_EQ(c.get_string("paths.key_file"), "/k.pem");
  std::system(("rm -rf '" + dir + "'").c_str());
  EXPECT_THROW(load_file(test_schema(), path), core::ConfigError);  // gone
}

struct SizeCase {
  std::string text;
  std::uint64_t bytes;
};

class SizeTest : public ::testing::TestWithParam<SizeCase> {};

TEST_P(SizeTest, Parses) { EXPECT_EQ(parse_size(GetParam().text, {}), GetParam().bytes) << GetParam().text; }

constexpr std::uint64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

INSTANTIATE_TEST_SUITE_P(
    Config, SizeTest,
    ::testing::Values(SizeCase{"0", 0}, SizeCase{"1", 1}, SizeCase{"1024", 1024}, SizeCase{"1K", 1024},
                      SizeCase{"1k", 1024}, SizeCase{"30M", 30u << 20}, SizeCase{"30m", 30u << 20},
                      SizeCase{"2G", 2ULL << 30}, SizeCase{"007K", 7 * 1024},
                      SizeCase{"9223372036854775807", kInt64Max},
                      SizeCase{"8589934591G", kInt64Max - (1ULL << 30) + 1},  // largest whole G
                      SizeCase{"9007199254740991K", kInt64Max - 1023}));

struct DurationCase {
  std::string text;
  std::chrono::milliseconds value;
};

class DurationTest : public ::testing::TestWithParam<DurationCase> {};

TEST_P(DurationTest, Parses) { EXPECT_EQ(parse_duration(GetParam().text, {}), GetParam().value) << GetParam().text; }

INSTANTIATE_TEST_SUITE_P(
    Config, DurationTest,
    ::testing::Values(DurationCase{"0", 0ms}, DurationCase{"30", 30s}, DurationCase{"30s", 30s},
                      DurationCase{"500ms", 500ms}, DurationCase{"5m", 5min}, DurationCase{"2h", 2h},
                      DurationCase{"0ms", 0ms},
                      DurationCase{"9223372036854775807ms", std::chrono::milliseconds(kInt64Max)},
                      DurationCase{"2562047788015h", std::chrono::milliseconds(2562047788015LL * 3600000)}));

struct BadValueCase {
  std::string text;
  std::string message;
};

class BadSizeTest : public ::testing::TestWithParam<BadValueCase> {};

TEST_P(BadSizeTest, IsRefusedAtTheGivenLocation) {
  try {
    parse_size(GetParam().text, core::Location{"f", 3, 9});
    FAIL() << GetParam().text;
  } catch (const core::ConfigError& e) {
    EXPECT_EQ(e.what(), "f:3:9: " + GetParam().message);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Config, BadSizeTest,
    ::testing::Values(
        BadValueCase{"", "'' is not a size: write bytes, or a number with K, M or G"},
        BadValueCase{"K", "'K' is not a size: write bytes, or a number with K, M or G"},
        BadValueCase{" 1K", "' 1K' is not a size: write bytes, or a number with K, M or G"},
        BadValueCase{"1K ", "'1K ' is not a size: write bytes, or a number with K, M or G"},
        BadValueCase{"1KB", "'1KB' is not a size: write bytes, or a number with K, M or G"},
        BadValueCase{"1B", "'1B' is not a size: write bytes, or a number with K, M or G"},
        BadValueCase{"1T", "'1T' is not a size: write bytes, or a number with K, M or G"},
        BadValueCase{"1e6", "'1e6' is not a size: write bytes, or a number with K, M or G"},
        BadValueCase{"+1", "'+1' is not a size: write bytes, or a number with K, M or G"},
        BadValueCase{"9223372036854775808", "'9223372036854775808' is too large for a size"},
        BadValueCase{"18446744073709551616", "'18446744073709551616' is too large for a size"},
        BadValueCase{"8589934592G", "'8589934592G' is too large for a size"},
        BadValueCase{"99999999999999999999G", "'99999999999999999999G' is too large for a size"},
        BadValueCase{"99999999999999999999X", "'99999999999999999999X' is not a size: write bytes, or a number with K, M or G"}));

class BadDurationTest : public ::testing::TestWithParam<BadValueCase> {};

TEST_P(BadDurationTest, IsRefusedAtTheGivenLocation) {
  try {
    parse_duration(GetParam().text, core::Location{"f", 3, 9});
    FAIL() << GetParam().text;
  } catch (const core::ConfigError& e) {
    EXPECT_EQ(e.what(), "f:3:9: " + GetParam().message);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Config, BadDurationTest,
    ::testing::Values(
        BadValueCase{"", "'' is not a duration: write a number with ms, s, m or h"},
        BadValueCase{"s", "'s' is not a duration: write a number with ms, s, m or h"},
        BadValueCase{"5d", "'5d' is not a duration: write a number with ms, s, m or h"},
        BadValueCase{"5sec", "'5sec' is not a duration: write a number with ms, s, m or h"},
        BadValueCase{"5us", "'5us' is not a duration: write a number with ms, s, m or h"},
        BadValueCase{"-5s", "'-5s' is not a duration: write a number with ms, s, m or h"},
        BadValueCase{"0.5s", "'0.5s' is not a duration: write a number with ms, s, m or h"},
        BadValueCase{"9223372036854775808ms", "'9223372036854775808ms' is too large for a duration"},
        BadValueCase{"9223372036854776s", "'9223372036854776s' is too large for a duration"},
        BadValueCase{"2562047788016h", "'2562047788016h' is too large for a duration"},
        BadValueCase{"99999999999999999999h", "'99999999999999999999h' is too large for a duration"}));

TEST(ParseBool, OnlyTrueAndFalse) {
  EXPECT_TRUE(parse_bool("true", {}));
  EXPECT_FALSE(parse_bool("false", {}));
  for (const char* text : {"yes", "no", "on", "off", "y", "n", "TRUE", "False", "1", "0", "", "true "}) {
    try {
      parse_bool(text, core::Location{"f", 1, 2});
      ADD_FAILURE() << text;
    } catch (const core::ConfigError& e) {
      EXPECT_EQ(e.what(), "f:1:2: '" + std::string(text) + "' is not a boolean: use true or false");
    }
  }
}

}  // namespace
}  // namespace postern::config
