#include "postern/incamail/tag_scanner.hpp"

#include <gtest/gtest.h>

namespace postern::incamail {
namespace {

using T = MailType;

struct TagCase {
  const char* name;
  TagPosition position;
  bool case_sensitive;
  const char* subject;
  std::vector<MailType> types;
  std::vector<std::string> unknown;
};

class TagScannerTest : public ::testing::TestWithParam<TagCase> {};

TEST_P(TagScannerTest, FindsTags) {
  const TagCase& c = GetParam();
  TagScanner scanner({.position = c.position, .case_sensitive = c.case_sensitive});
  TagScan scan = scanner.scan(c.subject);
  EXPECT_EQ(scan.types, c.types);
  EXPECT_EQ(scan.unknown, c.unknown);
}

constexpr auto kAny = TagPosition::anywhere;
constexpr auto kPrefix = TagPosition::prefix;

INSTANTIATE_TEST_SUITE_P(
    Subjects, TagScannerTest,
    ::testing::Values(
        TagCase{"confidential", kAny, false, "<im><c> Offerte", {T::confidential}, {}},
        TagCase{"personal", kAny, false, "<im><p> Lohn", {T::personal}, {}},
        TagCase{"registered", kAny, false, "<im><r> Kuendigung", {T::registered}, {}},
        TagCase{"untagged", kAny, false, "Offerte", {}, {}},
        TagCase{"empty", kAny, false, "", {}, {}},
        TagCase{"after_reply_prefix", kAny, false, "AW: <im><c> Offerte", {T::confidential}, {}},
        TagCase{"at_end", kAny, false, "Offerte <im><r>", {T::registered}, {}},
        TagCase{"glued_to_text", kAny, false, "Offerte<im><c>", {T::confidential}, {}},
        TagCase{"upper_case_allowed", kAny, false, "<IM><C> Offerte", {T::confidential}, {}},
        TagCase{"mixed_case_allowed", kAny, false, "<Im><P> x", {T::personal}, {}},
        TagCase{"upper_case_not_a_tag_when_sensitive", kAny, true, "<IM><C> Offerte", {}, {}},
        TagCase{"upper_letter_unknown_when_sensitive", kAny, true, "<im><C> Offerte", {}, {"<im><C>"}},
        TagCase{"unknown_letter", kAny, false, "<im><x> Offerte", {}, {"<im><x>"}},
        TagCase{"long_unknown", kAny, false, "<im><secret> x", {}, {"<im><secret>"}},
        TagCase{"empty_letter", kAny, false, "<im><> x", {}, {"<im><>"}},
        TagCase{"unclosed", kAny, false, "<im><c Offerte", {}, {"<im><c"}},
        TagCase{"unclosed_at_end", kAny, false, "Offerte <im><", {}, {"<im><"}},
        TagCase{"too_long_is_unclosed", kAny, false, "<im><abcdefghij>", {}, {"<im><abcdefghi"}},
        TagCase{"non_ascii_ends_candidate", kAny, false, "<im><\xc3\xa4>", {}, {"<im><"}},
        TagCase{"im_alone_is_text", kAny, false, "Chat <im> today", {}, {}},
        TagCase{"im_then_space_is_text", kAny, false, "<im> <c>", {}, {}},
        TagCase{"repeated_same_tag", kAny, false, "Re: <im><c> Re: <im><c> x", {T::confidential}, {}},
        TagCase{"conflict", kAny, false, "<im><c> <im><r> x", {T::confidential, T::registered}, {}},
        TagCase{"conflict_order_kept", kAny, false, "<im><r> x <im><p>", {T::registered, T::personal}, {}},
        TagCase{"known_and_unknown", kAny, false, "<im><c> <im><z>", {T::confidential}, {"<im><z>"}},
        TagCase{"adjacent_tags", kAny, false, "<im><c><im><p>", {T::confidential, T::personal}, {}},
        TagCase{"doubled_prefix", kAny, false, "<im><im><c>", {}, {"<im><im>"}},
        TagCase{"prefix_at_start", kPrefix, false, "<im><c> Offerte", {T::confidential}, {}},
        TagCase{"prefix_leading_space", kPrefix, false, "  <im><c> Offerte", {T::confidential}, {}},
        TagCase{"prefix_ignores_later_tag", kPrefix, false, "AW: <im><c> Offerte", {}, {}},
        TagCase{"prefix_run_of_tags", kPrefix, false, "<im><c> <im><r> x", {T::confidential, T::registered}, {}},
        TagCase{"prefix_stops_at_text", kPrefix, false, "<im><c> x <im><r>", {T::confidential}, {}},
        TagCase{"prefix_unknown", kPrefix, false, "<im><q> x", {}, {"<im><q>"}},
        TagCase{"prefix_im_text", kPrefix, false, "<im> x", {}, {}}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(TagScan, TypeOnlyWhenUnambiguous) {
  EXPECT_EQ(TagScan{}.type(), std::nullopt);
  EXPECT_EQ((TagScan{{T::personal}, {}}.type()), T::personal);
  EXPECT_EQ((TagScan{{T::personal, T::registered}, {}}.type()), std::nullopt);
  EXPECT_EQ((TagScan{{T::personal}, {"<im><x>"}}.type()), std::nullopt);
  EXPECT_TRUE((TagScan{{}, {"<im><x>"}}.tagged()));
  EXPECT_TRUE((TagScan{{T::personal, T::registered}, {}}.conflict()));
}

TEST(TagScan, MergeKeepsFirstAppearanceAndDropsRepeats) {
  TagScan a{{T::confidential}, {"<im><x>"}};
  a.merge(TagScan{{T::registered, T::confidential}, {"<im><x>", "<im><y>"}});
  EXPECT_EQ(a.types, (std::vector<MailType>{T::confidential, T::registered}));
  EXPECT_EQ(a.unknown, (std::vector<std::string>{"<im><x>", "<im><y>"}));
}

TEST(TagText, NamesAndTags) {
  EXPECT_EQ(tag_text(T::confidential), "<im><c>");
  EXPECT_EQ(tag_text(T::personal), "<im><p>");
  EXPECT_EQ(tag_text(T::registered), "<im><r>");
  EXPECT_STREQ(to_string(T::confidential), "confidential");
  EXPECT_STREQ(to_string(T::personal), "personal");
  EXPECT_STREQ(to_string(T::registered), "registered");
}

}  // namespace
}  // namespace postern::incamail
