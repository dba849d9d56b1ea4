#include "postern/mime/header.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::mime {
namespace {

using namespace std::string_literals;

struct BlockCase {
  const char* label;
  std::string input;
  std::size_t fields;
  HeaderBlock::End end;
  std::size_t consumed;  // npos: the whole input
};

class HeaderBlockRoundTrip : public ::testing::TestWithParam<BlockCase> {};

TEST_P(HeaderBlockRoundTrip, SerializesExactlyWhatItConsumed) {
  const BlockCase& c = GetParam();
  HeaderBlock block = HeaderBlock::parse(c.input);
  std::size_t consumed = c.consumed == std::string::npos ? c.input.size() : c.consumed;
  EXPECT_EQ(block.fields().size(), c.fields);
  EXPECT_EQ(block.end(), c.end);
  EXPECT_EQ(block.consumed(), consumed);
  EXPECT_EQ(block.serialize(), c.input.substr(0, consumed));
}

constexpr auto kNpos = std::string::npos;
using End = HeaderBlock::End;

INSTANTIATE_TEST_SUITE_P(
    Cases, HeaderBlockRoundTrip,
    ::testing::Values(
        BlockCase{"crlf", "From: a@example.com\r\nTo: b@example.com\r\n\r\nbody\r\n", 2, End::blank_line, 42},
        BlockCase{"lf", "From: a@example.com\nTo: b@example.com\n\nbody\n", 2, End::blank_line, 39},
        BlockCase{"mixed_line_ends", "A: 1\r\nB: 2\nC: 3\r\n\n", 3, End::blank_line, kNpos},
        BlockCase{"folded_tabs", "Subject: one\r\n\ttwo\r\n  three\r\nX: y\r\n\r\n", 2, End::blank_line, kNpos},
        BlockCase{"folded_mixed_breaks", "Subject: one\n\ttwo\r\n three\r\n\r\n", 1, End::blank_line, kNpos},
        BlockCase{"no_blank_line", "A: 1\r\nB: 2\r\n", 2, End::end_of_input, kNpos},
        BlockCase{"last_line_unterminated", "A: 1\r\nB: 2", 2, End::end_of_input, kNpos},
        BlockCase{"empty_input", "", 0, End::end_of_input, kNpos},
        BlockCase{"only_blank_line", "\r\nbody", 0, End::blank_line, 2},
        BlockCase{"empty_value", "X-Empty:\r\nY:z\r\n\r\n", 2, End::blank_line, kNpos},
        BlockCase{"obsolete_space_before_colon", "Subject : hi\r\n\r\n", 1, End::blank_line, kNpos},
        BlockCase{"nul_bytes", "X-Nul: a\0b\r\n\r\n"s, 1, End::blank_line, kNpos},
        BlockCase{"eight_bit_junk", "Subject: \xff\xfe\x80 caf\xe9\r\n\r\n", 1, End::blank_line, kNpos},
        BlockCase{"bare_cr_inside", "X: a\rb\r\n\r\n", 1, End::blank_line, kNpos},
        BlockCase{"line_without_colon", "A: 1\r\nnot a header\r\nB: 2\r\n\r\n", 1, End::not_a_field, 6},
        BlockCase{"mbox_from_line", "From someone Mon Jan 1\r\nA: 1\r\n", 0, End::not_a_field, 0},
        BlockCase{"leading_continuation", " folded\r\nA: 1\r\n\r\n", 0, End::not_a_field, 0},
        BlockCase{"name_with_control", "A\x01: 1\r\n\r\n", 0, End::not_a_field, 0},
        BlockCase{"colon_first", ": no name\r\n\r\n", 0, End::not_a_field, 0}),
    [](const auto& test) { return std::string(test.param.label); });

TEST(HeaderBlock, KeepsRawValueAndLineEnds) {
  HeaderBlock block = HeaderBlock::parse("Subject: one\r\n\ttwo\nX-Last: v");
  ASSERT_EQ(block.fields().size(), 2U);
  const Header& subject = block.fields()[0];
  EXPECT_EQ(subject.name, "Subject");
  EXPECT_EQ(subject.raw_value, " one\r\n\ttwo");
  EXPECT_EQ(subject.eol, "\n");
  EXPECT_EQ(subject.value(), "one\ttwo");
  EXPECT_EQ(block.fields()[1].eol, "");
}

TEST(HeaderBlock, ObsoleteSpaceBeforeColonIsNotPartOfTheName) {
  HeaderBlock block = HeaderBlock::parse("Subject \t: hi\r\n");
  ASSERT_EQ(block.fields().size(), 1U);
  EXPECT_EQ(block.fields()[0].name, "Subject");
  EXPECT_EQ(block.fields()[0].before_colon, " \t");
  EXPECT_NE(block.find("subject"), nullptr);
}

TEST(HeaderBlock, FindsCaseInsensitivelyInOrder) {
  HeaderBlock block = HeaderBlock::parse("Received: 1\r\nTO: x\r\nreceived: 2\r\nRECEIVED: 3\r\n\r\n");
  ASSERT_NE(block.find("to"), nullptr);
  EXPECT_EQ(block.find("to")->value(), "x");
  EXPECT_EQ(block.find("cc"), nullptr);
  auto all = block.find_all("Received");
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0]->value(), "1");
  EXPECT_EQ(all[2]->value(), "3");
}

TEST(HeaderBlock, EditedFieldSerializesWithItsOwnLineEnd) {
  HeaderBlock block = HeaderBlock::parse("Subject: old\nTo: x\n\n");
  block.fields()[0].raw_value = " new";
  EXPECT_EQ(block.serialize(), "Subject: new\nTo: x\n\n");
}

TEST(HeaderBlock, FieldCountLimit) {
  std::string input;
  for (int i = 0; i < 11; ++i) {
    input += "X: " + std::to_string(i) + "\r\n";
  }
  HeaderLimits limits;
  limits.max_fields = 10;
  EXPECT_THROW(HeaderBlock::parse(input, limits), LimitError);
  limits.max_fields = 11;
  EXPECT_EQ(HeaderBlock::parse(input, limits).fields().size(), 11U);
}

TEST(HeaderBlock, LineLengthLimit) {
  HeaderLimits limits;
  limits.max_line_length = 20;
  EXPECT_NO_THROW(HeaderBlock::parse("X: " + std::string(17, 'a') + "\r\n", limits));
  try {
    HeaderBlock::parse("X: " + std::string(18, 'a') + "\r\n", limits);
    FAIL() << "no LimitError";
  } catch (const LimitError& e) {
    EXPECT_STREQ(e.what(), "header line 1 is longer than 20 bytes");
  }
  // A long body line after the blank line is not the header parser's business.
  EXPECT_NO_THROW(HeaderBlock::parse("X: y\r\n\r\n" + std::string(100, 'b'), limits));
  // Nor a long body line where the blank line is missing.
  HeaderBlock block = HeaderBlock::parse("X: y\r\n" + std::string(100, 'b'), limits);
  EXPECT_EQ(block.end(), HeaderBlock::End::not_a_field);
}

TEST(HeaderBlock, FieldSizeLimitCountsContinuations) {
  HeaderLimits limits;
  limits.max_field_size = 100;
  std::string input = "X:";
  for (int i = 0; i < 20; ++i) {
    input += " word\r\n";
  }
  EXPECT_THROW(HeaderBlock::parse(input, limits), LimitError);
  limits.max_field_size = 1000;
  EXPECT_EQ(HeaderBlock::parse(input, limits).fields().size(), 1U);
}

struct UnfoldCase {
  std::string raw;
  std::string unfolded;
};

class Unfold : public ::testing::TestWithParam<UnfoldCase> {};

TEST_P(Unfold, RemovesLineBreaksBeforeWhitespaceOnly) { EXPECT_EQ(unfold(GetParam().raw), GetParam().unfolded); }

INSTANTIATE_TEST_SUITE_P(Cases, Unfold,
                         ::testing::Values(UnfoldCase{" a\r\n b", " a b"}, UnfoldCase{" a\n\tb", " a\tb"},
                                           UnfoldCase{" a\r\n\r\n b", " a\r\n b"},
                                           UnfoldCase{" a\r\nb", " a\r\nb"}, UnfoldCase{"a\r\n", "a\r\n"},
                                           UnfoldCase{"a\rb", "a\rb"}, UnfoldCase{"", ""}));

}  // namespace
}  // namespace postern::mime
