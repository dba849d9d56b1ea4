#include "postern/policy/pattern.hpp"

#include <gtest/gtest.h>

#include "postern/config/node.hpp"

namespace postern::policy {
namespace {

struct GlobCase {
  const char* pattern;
  const char* text;
  bool match;
};

class Glob : public ::testing::TestWithParam<GlobCase> {};

TEST_P(Glob, Matches) { EXPECT_EQ(glob_match(GetParam().pattern, GetParam().text), GetParam().match); }

INSTANTIATE_TEST_SUITE_P(Cases, Glob,
                         ::testing::Values(GlobCase{"*", "", true}, GlobCase{"*", "abc", true},
                                           GlobCase{"", "", true}, GlobCase{"", "a", false},
                                           GlobCase{"a?c", "abc", true}, GlobCase{"a?c", "ac", false},
                                           GlobCase{"*@example.org", "bob@example.org", true},
                                           GlobCase{"*@example.org", "bob@example.org.evil", false},
                                           GlobCase{"*@*.example.org", "a@mx.example.org", true},
                                           GlobCase{"*@*.example.org", "a@example.org", false},
                                           GlobCase{"a*b*c", "aXbYbZc", true}, GlobCase{"a*b*c", "aXbYbZ", false},
                                           GlobCase{"**", "x", true}, GlobCase{"*.exe", "virus.EXE", false}));

struct AddressCase {
  const char* pattern;
  const char* address;  // normalized form
  bool match;
};

class Address : public ::testing::TestWithParam<AddressCase> {};

TEST_P(Address, Matches) {
  std::vector<core::Diagnostic> diags;
  NamedLists lists;
  auto vip = AddressMatcher::compile(config::parse_string("[boss@example.org, '@board.example.org']", "l"), nullptr, diags);
  lists.emplace("vip", std::make_shared<const AddressMatcher>(std::move(vip)));
  const auto m = AddressMatcher::compile(config::parse_string(std::string("'") + GetParam().pattern + "'", "t"), &lists, diags);
  ASSERT_TRUE(diags.empty()) << diags.front().to_string();
  EXPECT_EQ(m.matches(GetParam().address), GetParam().match);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Address,
    ::testing::Values(AddressCase{"bob@example.org", "bob@example.org", true},
                      AddressCase{"Bob@EXAMPLE.org", "bob@example.org", true},
                      AddressCase{"bob@example.org", "bobby@example.org", false},
                      AddressCase{"@example.org", "x@example.org", true},
                      AddressCase{"@example.org", "x@sub.example.org", false},
                      AddressCase{"@exämple.org", "x@xn--exmple-cua.org", true},
                      AddressCase{"*@*.example.org", "x@sub.example.org", true},
                      AddressCase{"/^[a-z]+\\.[a-z]+@example\\.org$/", "john.doe@example.org", true},
                      AddressCase{"/^[a-z]+\\.[a-z]+@example\\.org$/", "john@example.org", false},
                      AddressCase{"/example/", "a@example.net", true}, AddressCase{"<>", "", true},
                      AddressCase{"<>", "a@b.org", false}, AddressCase{"list:vip", "boss@example.org", true},
                      AddressCase{"list:vip", "x@board.example.org", true},
                      AddressCase{"list:vip", "x@example.org", false}));

struct BadPattern {
  const char* yaml;
  const char* message;
  int column;
};

class AddressRefused : public ::testing::TestWithParam<BadPattern> {};

TEST_P(AddressRefused, WithLocation) {
  std::vector<core::Diagnostic> diags;
  NamedLists lists;
  (void)AddressMatcher::compile(config::parse_string(GetParam().yaml, "p.yaml"), &lists, diags);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find(GetParam().message), std::string::npos) << diags[0].message;
  EXPECT_EQ(diags[0].where.file, "p.yaml");
  EXPECT_EQ(diags[0].where.line, 1);
  EXPECT_EQ(diags[0].where.column, GetParam().column);
}

INSTANTIATE_TEST_SUITE_P(Cases, AddressRefused,
                         ::testing::Values(BadPattern{"[a@b.org, '/a(/']", "bad regular expression", 11},
                                           BadPattern{"list:nobody", "unknown list 'nobody'", 1},
                                           BadPattern{"justtext", "is none of", 1},
                                           BadPattern{"[a@b.org, a@-bad-.org]", "not a valid address", 11},
                                           BadPattern{"'@'", "not a valid @domain", 1},
                                           BadPattern{"[]", "non-empty list", 1},
                                           BadPattern{"[[a@b.org]]", "expected a scalar", 2}));

TEST(AddressMatcher, ListsDoNotNest) {
  std::vector<core::Diagnostic> diags;
  (void)AddressMatcher::compile(config::parse_string("list:x", "p"), nullptr, diags);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("cannot refer to another list"), std::string::npos);
}

struct NameCase {
  const char* pattern;
  const char* name;
  bool match;
};

class Name : public ::testing::TestWithParam<NameCase> {};

TEST_P(Name, Matches) {
  std::vector<core::Diagnostic> diags;
  const auto m = NameMatcher::compile(config::parse_string(std::string("'") + GetParam().pattern + "'", "t"), diags);
  ASSERT_TRUE(diags.empty());
  EXPECT_EQ(m.matches(GetParam().name), GetParam().match);
}

INSTANTIATE_TEST_SUITE_P(Cases, Name,
                         ::testing::Values(NameCase{"*.exe", "setup.EXE", true}, NameCase{"*.exe", "setup.exe.txt", false},
                                           NameCase{"/\\.(zip|rar)$/", "a.rar", true},
                                           NameCase{"/\\.(zip|rar)$/", "a.RAR", false},
                                           NameCase{"/(?i)\\.(zip|rar)$/", "a.RAR", true},
                                           NameCase{"report-????.pdf", "report-2026.pdf", true}));

}  // namespace
}  // namespace postern::policy
