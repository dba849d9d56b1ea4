#include "text.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace postern::mime::detail {
namespace {

using namespace std::string_literals;

struct Utf8Case {
  const char* label;
  std::string bytes;
  bool valid;
};

class Utf8 : public ::testing::TestWithParam<Utf8Case> {};

TEST_P(Utf8, Validates) { EXPECT_EQ(is_valid_utf8(GetParam().bytes), GetParam().valid); }

INSTANTIATE_TEST_SUITE_P(Cases, Utf8,
                         ::testing::Values(Utf8Case{"ascii", "abc", true}, Utf8Case{"empty", "", true},
                                           Utf8Case{"nul", "a\0b"s, true}, Utf8Case{"two_byte", "é", true},
                                           Utf8Case{"three_byte", "€", true}, Utf8Case{"four_byte", "😀", true},
                                           Utf8Case{"max", "\xf4\x8f\xbf\xbf", true},
                                           Utf8Case{"overlong_two", "\xc0\x80", false},
                                           Utf8Case{"overlong_three", "\xe0\x80\x80", false},
                                           Utf8Case{"overlong_four", "\xf0\x80\x80\x80", false},
                                           Utf8Case{"surrogate", "\xed\xa0\x80", false},
                                           Utf8Case{"above_max", "\xf4\x90\x80\x80", false},
                                           Utf8Case{"lone_continuation", "\x80", false},
                                           Utf8Case{"truncated", "\xe2\x82", false},
                                           Utf8Case{"bad_continuation", "\xe2\x28\xa1", false},
                                           Utf8Case{"latin1", "caf\xe9", false},
                                           Utf8Case{"f5", "\xf5\x80\x80\x80", false}),
                         [](const auto& test) { return std::string(test.param.label); });

TEST(Utf8SequenceLength, MeasuresAtPosition) {
  std::string s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff";
  EXPECT_EQ(utf8_sequence_length(s, 0), 1U);
  EXPECT_EQ(utf8_sequence_length(s, 1), 2U);
  EXPECT_EQ(utf8_sequence_length(s, 3), 3U);
  EXPECT_EQ(utf8_sequence_length(s, 6), 4U);
  EXPECT_EQ(utf8_sequence_length(s, 10), 0U);
  EXPECT_EQ(utf8_sequence_length(s, 2), 0U);  // a continuation byte
}

TEST(HexValue, Digits) {
  EXPECT_EQ(hex_value('0'), 0);
  EXPECT_EQ(hex_value('9'), 9);
  EXPECT_EQ(hex_value('a'), 10);
  EXPECT_EQ(hex_value('F'), 15);
  EXPECT_EQ(hex_value('g'), -1);
  EXPECT_EQ(hex_value('\0'), -1);
}

struct CharsetCase {
  const char* label;
  std::string charset;
  std::string bytes;
  std::optional<std::string> utf8;
};

class ToUtf8 : public ::testing::TestWithParam<CharsetCase> {};

TEST_P(ToUtf8, Converts) { EXPECT_EQ(to_utf8(GetParam().charset, GetParam().bytes), GetParam().utf8); }

INSTANTIATE_TEST_SUITE_P(
    Cases, ToUtf8,
    ::testing::Values(CharsetCase{"utf8", "UTF-8", "é", "é"}, CharsetCase{"utf8_alias", "utf8", "é", "é"},
                      CharsetCase{"utf8_invalid", "utf-8", "\xe9", std::nullopt},
                      CharsetCase{"utf8_with_language", "UTF-8*de", "ä", "ä"},
                      CharsetCase{"ascii", "US-ASCII", "abc", "abc"},
                      CharsetCase{"ascii_8bit", "us-ascii", "\xe9", std::nullopt},
                      CharsetCase{"latin1", "ISO-8859-1", "caf\xe9", "café"},
                      CharsetCase{"latin9_euro", "iso-8859-15", "\xa4", "€"},
                      CharsetCase{"cp1252_quotes", "Windows-1252", "\x93x\x94", "“x”"},
                      CharsetCase{"cp1252_undefined", "windows-1252", "\x81", std::nullopt},
                      CharsetCase{"koi8r", "koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"},
                      CharsetCase{"shift_jis_truncated", "shift_jis", "\x82", std::nullopt},
                      CharsetCase{"unknown", "x-klingon", "abc", std::nullopt},
                      CharsetCase{"locale_name_refused", "", "abc", std::nullopt},
                      CharsetCase{"gconv_name_refused", "UTF-7", "abc", std::nullopt}),
    [](const auto& test) { return std::string(test.param.label); });

TEST(ToUtf8, OutputLargerThanInputGrowsTheBuffer) {
  std::string latin1(10000, '\xe9');
  auto utf8 = to_utf8("iso-8859-1", latin1);
  ASSERT_TRUE(utf8.has_value());
  EXPECT_EQ(utf8->size(), 20000U);
}

}  // namespace
}  // namespace postern::mime::detail
