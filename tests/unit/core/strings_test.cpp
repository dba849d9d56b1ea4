#include "postern/core/strings.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::core {
namespace {

TEST(AsciiLower, ChangesOnlyAsciiUppercase) {
  EXPECT_EQ(ascii_lower('A'), 'a');
  EXPECT_EQ(ascii_lower('Z'), 'z');
  EXPECT_EQ(ascii_lower('a'), 'a');
  EXPECT_EQ(ascii_lower('@'), '@');  // just below 'A'
  EXPECT_EQ(ascii_lower('['), '[');  // just above 'Z'
  EXPECT_EQ(ascii_lower("X-Postern-Plan: \xc3\x84"), "x-postern-plan: \xc3\x84");
  EXPECT_EQ(ascii_lower(""), "");
}

struct CompareCase {
  std::string a;
  std::string b;
  bool equal;
  bool a_starts_with_b;
  bool a_ends_with_b;
};

class CompareTest : public ::testing::TestWithParam<CompareCase> {};

TEST_P(CompareTest, MatchesAsciiCaseInsensitively) {
  const auto& c = GetParam();
  EXPECT_EQ(iequals(c.a, c.b), c.equal);
  EXPECT_EQ(iequals(c.b, c.a), c.equal);
  EXPECT_EQ(istarts_with(c.a, c.b), c.a_starts_with_b);
  EXPECT_EQ(iends_with(c.a, c.b), c.a_ends_with_b);
}

INSTANTIATE_TEST_SUITE_P(
    Strings, CompareTest,
    ::testing::Values(CompareCase{"Subject", "subject", true, true, true},
                      CompareCase{"Content-Type", "CONTENT-", false, true, false},
                      CompareCase{"mail.Example.ORG", ".example.org", false, false, true},
                      CompareCase{"abc", "abcd", false, false, false},
                      CompareCase{"", "", true, true, true},
                      CompareCase{"abc", "", false, true, true},
                      // Not locale folding: only A-Z and a-z pair up.
                      CompareCase{"\xc3\x84", "\xc3\xa4", false, false, false},
                      CompareCase{"[", "{", false, false, false}));

struct TrimCase {
  std::string in;
  std::string out;
};

class TrimTest : public ::testing::TestWithParam<TrimCase> {};

TEST_P(TrimTest, StripsSpaceTabCrLfAtBothEnds) { EXPECT_EQ(trim(GetParam().in), GetParam().out); }

INSTANTIATE_TEST_SUITE_P(Strings, TrimTest,
                         ::testing::Values(TrimCase{"  a b  ", "a b"}, TrimCase{"\t\r\nx\r\n", "x"},
                                           TrimCase{"   ", ""}, TrimCase{"", ""}, TrimCase{"x", "x"},
                                           TrimCase{"\vx\f", "\vx\f"}));

struct SplitCase {
  std::string in;
  char sep;
  std::vector<std::string> parts;
};

class SplitTest : public ::testing::TestWithParam<SplitCase> {};

TEST_P(SplitTest, KeepsEmptyParts) {
  const auto parts = split(GetParam().in, GetParam().sep);
  EXPECT_EQ(std::vector<std::string>(parts.begin(), parts.end()), GetParam().parts);
}

INSTANTIATE_TEST_SUITE_P(
    Strings, SplitTest,
    ::testing::Values(SplitCase{"a,b,c", ',', {"a", "b", "c"}}, SplitCase{"", ',', {""}},
                      SplitCase{",", ',', {"", ""}}, SplitCase{"a,,b,", ',', {"a", "", "b", ""}},
                      SplitCase{"no separator", ',', {"no separator"}},
                      SplitCase{"a.b.c", '.', {"a", "b", "c"}}));

}  // namespace
}  // namespace postern::core

namespace postern::core {
namespace {

TEST(IContains, FindsAsciiCaseInsensitively) {
  EXPECT_TRUE(icontains("Secured by IncaMail", "incamail"));
  EXPECT_TRUE(icontains("abc", ""));
  EXPECT_TRUE(icontains("ABC", "abc"));
  EXPECT_FALSE(icontains("ab", "abc"));
  EXPECT_FALSE(icontains("", "a"));
  EXPECT_FALSE(icontains("Inca Mail", "incamail"));
  EXPECT_FALSE(icontains("\xc3\x84", "\xc3\xa4"));  // no case folding beyond ASCII
}

}  // namespace
}  // namespace postern::core

namespace postern::core {
namespace {

TEST(EscapeControls, EscapesOnlyControlCharacters) {
  EXPECT_EQ(escape_controls("plain text"), "plain text");
  EXPECT_EQ(escape_controls(std::string_view("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(escape_controls("line\r\nnext\ttab\x7f"), "line\\x0d\\x0anext\\x09tab\\x7f");
  EXPECT_EQ(escape_controls("\xc3\xa4"), "\xc3\xa4");  // UTF-8 stays as it is
  EXPECT_EQ(escape_controls(""), "");
}

}  // namespace
}  // namespace postern::core
