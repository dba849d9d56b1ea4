#include "postern/config/schema.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>

namespace postern::config {
namespace {

using ::testing::HasSubstr;

TEST(Schema, TypeNames) {
  EXPECT_STREQ(type_name(Type::boolean), "boolean");
  EXPECT_STREQ(type_name(Type::integer), "integer");
  EXPECT_STREQ(type_name(Type::size), "size");
  EXPECT_STREQ(type_name(Type::duration), "duration");
  EXPECT_STREQ(type_name(Type::string), "string");
  EXPECT_STREQ(type_name(Type::path), "path");
  EXPECT_STREQ(type_name(Type::string_list), "string_list");
  EXPECT_STREQ(type_name(Type::network_list), "network_list");
}

TEST(Schema, KeepsDeclarationsInOrder) {
  Schema s("postern-test", "A test program");
  s.key({.path = "verbose", .type = Type::boolean, .default_value = "false", .doc = "top-level key"})
      .section("milter", "The milter")
      .key({.path = "milter.socket", .type = Type::string, .default_value = "unix:/run/x.sock", .doc = "d"})
      .section("milter.limits", "Nested section")
      .key({.path = "milter.limits.max", .type = Type::size, .default_value = "1M", .doc = "d", .min = 1});
  EXPECT_EQ(s.program(), "postern-test");
  EXPECT_EQ(s.doc(), "A test program");
  ASSERT_EQ(s.keys().size(), 3u);
  EXPECT_EQ(s.keys()[0].path, "verbose");
  EXPECT_EQ(s.keys()[2].path, "milter.limits.max");
  ASSERT_EQ(s.sections().size(), 2u);
  EXPECT_EQ(s.sections()[1].first, "milter.limits");
  EXPECT_EQ(s.sections()[1].second, "Nested section");
  ASSERT_NE(s.find("milter.socket"), nullptr);
  EXPECT_EQ(s.find("milter.socket")->default_value, "unix:/run/x.sock");
  EXPECT_EQ(s.find("milter"), nullptr);
  EXPECT_EQ(s.find("socket"), nullptr);
  EXPECT_TRUE(s.is_section("milter"));
  EXPECT_TRUE(s.is_section("milter.limits"));
  EXPECT_FALSE(s.is_section("milter.socket"));
  EXPECT_FALSE(s.is_section("limits"));
}

TEST(Schema, AcceptsEveryTypeWithAValidDefault) {
  Schema s("p", "");
  s.section("a", "");
  EXPECT_NO_THROW(s.key({.path = "a.b", .type = Type::boolean, .default_value = "true"}));
  EXPECT_NO_THROW(s.key({.path = "a.i", .type = Type::integer, .default_value = "-5", .min = -10, .max = 10}));
  EXPECT_NO_THROW(s.key({.path = "a.s", .type = Type::size, .default_value = "1G", .max = 1LL << 30}));
  EXPECT_NO_THROW(s.key({.path = "a.d", .type = Type::duration, .default_value = "500ms", .min = 500}));
  EXPECT_NO_THROW(s.key({.path = "a.str", .type = Type::string, .default_value = "x", .choices = {"x", "y"}}));
  EXPECT_NO_THROW(s.key({.path = "a.e1", .type = Type::string, .default_value = ""}));
  EXPECT_NO_THROW(s.key({.path = "a.e2", .type = Type::string, .default_value = "\"\""}));
  EXPECT_NO_THROW(s.key({.path = "a.p", .type = Type::path, .default_value = "/etc/postern"}));
  EXPECT_NO_THROW(s.key({.path = "a.p2", .type = Type::path, .default_value = ""}));
  EXPECT_NO_THROW(s.key({.path = "a.l", .type = Type::string_list, .default_value = "[x, 'y z']"}));
  EXPECT_NO_THROW(s.key({.path = "a.l2", .type = Type::string_list, .default_value = ""}));
  EXPECT_NO_THROW(s.key({.path = "a.n", .type = Type::network_list, .default_value = "[127.0.0.0/8, '::1']"}));
  EXPECT_NO_THROW(s.key({.path = "a.r", .type = Type::boolean, .required = true}));
  EXPECT_EQ(s.keys().size(), 13u);
}

struct MisuseCase {
  std::string name;
  std::function<void(Schema&)> declare;
  std::string message;
};

class MisuseTest : public ::testing::TestWithParam<MisuseCase> {};

TEST_P(MisuseTest, IsALogicError) {
  Schema s("p", "");
  s.section("sec", "");
  s.key({.path = "sec.k", .type = Type::string, .default_value = "v"});
  try {
    GetParam().declare(s);
    FAIL() << "accepted";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Schema, MisuseTest,
    ::testing::Values(
        MisuseCase{"DuplicateKey", [](Schema& s) { s.key({.path = "sec.k", .default_value = "v"}); },
                   "schema: 'sec.k': declared twice"},
        MisuseCase{"KeyNamedLikeSection", [](Schema& s) { s.key({.path = "sec", .default_value = "v"}); },
                   "schema: 'sec': declared twice"},
        MisuseCase{"SectionNamedLikeKey", [](Schema& s) { s.section("sec.k", ""); }, "schema: 'sec.k': declared twice"},
        MisuseCase{"DuplicateSection", [](Schema& s) { s.section("sec", ""); }, "schema: 'sec': declared twice"},
        MisuseCase{"KeyOutsideSection", [](Schema& s) { s.key({.path = "other.k", .default_value = "v"}); },
                   "schema: 'other.k': section 'other' is not declared"},
        MisuseCase{"SectionOutsideSection", [](Schema& s) { s.section("a.b", ""); },
                   "schema: 'a.b': parent section 'a' is not declared"},
        MisuseCase{"EmptyPath", [](Schema& s) { s.key({.path = "", .default_value = "v"}); },
                   "schema: '': not a valid key path"},
        MisuseCase{"DoubleDot", [](Schema& s) { s.key({.path = "sec..k", .default_value = "v"}); },
                   "schema: 'sec..k': not a valid key path"},
        MisuseCase{"TrailingDot", [](Schema& s) { s.section("sec.", ""); }, "schema: 'sec.': not a valid section path"},
        MisuseCase{"LeadingDot", [](Schema& s) { s.key({.path = ".k", .default_value = "v"}); },
                   "schema: '.k': not a valid key path"},
        MisuseCase{"BadBooleanDefault",
                   [](Schema& s) { s.key({.path = "sec.b", .type = Type::boolean, .default_value = "yes"}); },
                   "schema: 'sec.b': bad default: <default>:1:1: sec.b: 'yes' is not a boolean: use true or false"},
        MisuseCase{"MissingBooleanDefault", [](Schema& s) { s.key({.path = "sec.b", .type = Type::boolean}); },
                   "schema: 'sec.b': bad default: <default>: sec.b: no default value, and not required"},
        MisuseCase{"MissingIntegerDefault", [](Schema& s) { s.key({.path = "sec.i", .type = Type::integer}); },
                   "sec.i: no default value, and not required"},
        MisuseCase{"DefaultBelowMin",
                   [](Schema& s) { s.key({.path = "sec.i", .type = Type::integer, .default_value = "0", .min = 1}); },
                   "sec.i: '0' is less than the minimum 1"},
        MisuseCase{"DefaultAboveMax",
                   [](Schema& s) {
                     s.key({.path = "sec.s", .type = Type::size, .default_value = "2G", .max = 1LL << 30});
                   },
                   "sec.s: '2G' is more than the maximum 1G"},
        MisuseCase{"BadSizeDefault",
                   [](Schema& s) { s.key({.path = "sec.s", .type = Type::size, .default_value = "30MB"}); },
                   "'30MB' is not a size"},
        MisuseCase{"BadDurationDefault",
                   [](Schema& s) { s.key({.path = "sec.d", .type = Type::duration, .default_value = "5 min"}); },
                   "'5 min' is not a duration"},
        MisuseCase{"DefaultNotAChoice",
                   [](Schema& s) {
                     s.key({.path = "sec.c", .type = Type::string, .default_value = "z", .choices = {"x", "y"}});
                   },
                   "sec.c: 'z' is not one of: x, y"},
        MisuseCase{"RelativePathDefault",
                   [](Schema& s) { s.key({.path = "sec.p", .type = Type::path, .default_value = "etc/x"}); },
                   "sec.p: 'etc/x' is not an absolute path"},
        MisuseCase{"ScalarListDefault",
                   [](Schema& s) { s.key({.path = "sec.l", .type = Type::string_list, .default_value = "x"}); },
                   "sec.l: expected a list, got a scalar"},
        MisuseCase{"BadNetworkDefault",
                   [](Schema& s) {
                     s.key({.path = "sec.n", .type = Type::network_list, .default_value = "[10.1.0.0/8]"});
                   },
                   "has host bits set"},
        MisuseCase{"DefaultIsNotYaml",
                   [](Schema& s) { s.key({.path = "sec.x", .type = Type::string, .default_value = "[x"}); },
                   "invalid YAML"},
        MisuseCase{"DefaultIsAMapping",
                   [](Schema& s) { s.key({.path = "sec.x", .type = Type::string, .default_value = "a: b"}); },
                   "sec.x: expected a string, got a mapping"},
        MisuseCase{"RequiredWithDefault",
                   [](Schema& s) { s.key({.path = "sec.r", .default_value = "x", .required = true}); },
                   "schema: 'sec.r': a required key cannot have a default"},
        MisuseCase{"RangeOnString", [](Schema& s) { s.key({.path = "sec.x", .default_value = "x", .min = 1}); },
                   "schema: 'sec.x': a string has no range"},
        MisuseCase{"MinAboveMax",
                   [](Schema& s) {
                     s.key({.path = "sec.i", .type = Type::integer, .default_value = "5", .min = 9, .max = 1});
                   },
                   "schema: 'sec.i': min is greater than max"},
        MisuseCase{"ChoicesOnList",
                   [](Schema& s) {
                     s.key({.path = "sec.l", .type = Type::string_list, .default_value = "[]", .choices = {"a"}});
                   },
                   "schema: 'sec.l': only strings have choices"}),
    [](const ::testing::TestParamInfo<MisuseCase>& p) { return p.param.name; });

TEST(Schema, RefusedDeclarationLeavesSchemaUnchanged) {
  Schema s("p", "");
  s.section("sec", "");
  EXPECT_THROW(s.key({.path = "sec.b", .type = Type::boolean, .default_value = "on"}), std::logic_error);
  EXPECT_EQ(s.find("sec.b"), nullptr);
  EXPECT_TRUE(s.keys().empty());
}

}  // namespace
}  // namespace postern::config
