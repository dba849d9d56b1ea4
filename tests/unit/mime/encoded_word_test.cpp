#include "postern/mime/encoded_word.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "postern/core/strings.hpp"
#include "postern/mime/header.hpp"

namespace postern::mime {
namespace {

using namespace std::string_literals;

struct DecodeCase {
  const char* label;
  std::string raw;
  std::string decoded;
};

class DecodeHeaderText : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(DecodeHeaderText, Decodes) { EXPECT_EQ(decode_header_text(GetParam().raw), GetParam().decoded); }

INSTANTIATE_TEST_SUITE_P(
    Cases, DecodeHeaderText,
    ::testing::Values(
        DecodeCase{"plain", " Hello world ", "Hello world"},
        DecodeCase{"q_utf8", " =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=", "Grüße"},
        DecodeCase{"q_lowercase_tokens", "=?utf-8?q?gr=c3=bc=c3=9fe?=", "grüße"},
        DecodeCase{"q_underscore_is_space", "=?ISO-8859-1?Q?this_is_some_text?=", "this is some text"},
        DecodeCase{"b_utf8", "=?UTF-8?B?w6TDtsO8?=", "äöü"},
        DecodeCase{"b_unpadded", "=?UTF-8?B?w6TDtsO8w6Q?=", "äöüä"},
        // RFC 2047 §8 examples.
        DecodeCase{"rfc_single", "(=?ISO-8859-1?Q?a?=)", "(a)"},
        DecodeCase{"rfc_text_then_word", "(=?ISO-8859-1?Q?a?= b)", "(a b)"},
        DecodeCase{"rfc_adjacent", "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
        DecodeCase{"rfc_adjacent_spaces", "(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"},
        DecodeCase{"rfc_adjacent_fold", "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"},
        DecodeCase{"rfc_encoded_space", "(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
        DecodeCase{"rfc_space_in_second", "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"},
        DecodeCase{"split_across_folds", " =?UTF-8?Q?Sehr_geehrte_Fr?=\r\n =?UTF-8?Q?au_M=C3=BCller?=",
                   "Sehr geehrte Frau Müller"},
        DecodeCase{"split_across_lf_tab_folds", " =?UTF-8?B?5pel5pys?=\n\t=?UTF-8?B?6Kqe?=", "日本語"},
        DecodeCase{"text_around_words", " Re: =?UTF-8?Q?caf=C3=A9?= now", "Re: café now"},
        DecodeCase{"glued_to_text", "Re:=?UTF-8?Q?caf=C3=A9?=", "Re:café"},
        DecodeCase{"mixed_charsets", "=?ISO-8859-1?Q?caf=E9?= =?KOI8-R?B?8NLJ18XU?= =?UTF-8?Q?=E2=82=AC?=",
                   "caféПривет€"},
        DecodeCase{"windows_1252", "=?windows-1252?Q?=80_5?=", "€ 5"},
        DecodeCase{"iso_2022_jp", "=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=", "日本語"},
        DecodeCase{"language_suffix", "=?UTF-8*en?Q?hi?=", "hi"},
        DecodeCase{"empty_text", "a =?UTF-8?Q?\?= b", "a  b"},
        DecodeCase{"raw_utf8_kept", " Grüße", "Grüße"},
        DecodeCase{"raw_junk_kept", " \xff\xfe", "\xff\xfe"},
        DecodeCase{"nul_kept", " a\0b"s, "a\0b"s},
        DecodeCase{"encoded_control_chars", "=?UTF-8?Q?a=0D=0Ab?=", "a\r\nb"},
        // Malformed or unknown: left literally.
        DecodeCase{"invalid_base64", "=?UTF-8?B?w6T@?=", "=?UTF-8?B?w6T@?="},
        DecodeCase{"base64_lone_char", "=?UTF-8?B?w?=", "=?UTF-8?B?w?="},
        DecodeCase{"bad_q_escape", "=?UTF-8?Q?a=ZZ?=", "=?UTF-8?Q?a=ZZ?="},
        DecodeCase{"truncated_q_escape", "=?UTF-8?Q?a=4?=", "=?UTF-8?Q?a=4?="},
        DecodeCase{"unknown_charset", "=?x-klingon?Q?abc?=", "=?x-klingon?Q?abc?="},
        DecodeCase{"unknown_encoding", "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?="},
        DecodeCase{"invalid_utf8", "=?UTF-8?Q?=FF?=", "=?UTF-8?Q?=FF?="},
        DecodeCase{"ascii_with_8bit", "=?US-ASCII?Q?=E9?=", "=?US-ASCII?Q?=E9?="},
        DecodeCase{"space_inside", "=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?="},
        DecodeCase{"unterminated", "=?UTF-8?Q?abc", "=?UTF-8?Q?abc"},
        DecodeCase{"no_charset", "=??Q?abc?=", "=??Q?abc?="},
        DecodeCase{"malformed_keeps_space_to_next",
                   "=?UTF-8?Q?=ZZ?= =?UTF-8?Q?ok?=", "=?UTF-8?Q?=ZZ?= ok"}),
    [](const auto& test) { return std::string(test.param.label); });

// Every line within 76 columns (the first one counting "Name:"), every
// encoded word within 75 characters and decodable on its own (so no
// character was split between words), and the text survives the round trip.
void check_encoding(const std::string& name, const std::string& text, const std::string& eol = "\r\n") {
  SCOPED_TRACE(name + ": " + text);
  std::string raw = encode_header_text(name, text, eol);
  std::string field = name + ":" + raw;
  std::size_t start = 0;
  while (true) {
    std::size_t end = field.find(eol, start);
    std::string line = field.substr(start, end == std::string::npos ? std::string::npos : end - start);
    EXPECT_LE(line.size(), 76U) << line;
    EXPECT_EQ(line.find_first_of("\r\n"), std::string::npos) << "bare line break in " << line;
    if (end == std::string::npos) {
      break;
    }
    start = end + eol.size();
    ASSERT_LT(start, field.size());
    EXPECT_TRUE(field[start] == ' ' || field[start] == '\t') << "fold without whitespace";
  }
  // Q and B text never hold '?', so a word ends at the first "?=" after its prefix.
  for (std::size_t at = raw.find("=?UTF-8?"); at != std::string::npos; at = raw.find("=?UTF-8?", at + 1)) {
    std::size_t end = raw.find("?=", at + 10);
    ASSERT_NE(end, std::string::npos);
    std::string word = raw.substr(at, end + 2 - at);
    EXPECT_LE(word.size(), 75U) << word;
    EXPECT_NE(decode_header_text(word), word) << "word does not decode alone";
  }
  EXPECT_EQ(decode_header_text(raw), std::string(core::trim(text)));
  HeaderBlock block = HeaderBlock::parse(field + eol + eol);
  EXPECT_EQ(block.fields().size(), 1U);
  EXPECT_EQ(block.end(), HeaderBlock::End::blank_line);
}

TEST(EncodeHeaderText, PlainAsciiStaysReadable) {
  EXPECT_EQ(encode_header_text("Subject", "Hello world"), " Hello world");
  EXPECT_EQ(encode_header_text("Subject", "  padded  "), " padded");
}

TEST(EncodeHeaderText, OnlyWordsThatNeedItAreEncoded) {
  // Each run is encoded the shorter way: B for "Grüße", Q for "Zürich".
  EXPECT_EQ(encode_header_text("Subject", "[secure] Grüße aus Zürich"),
            " [secure] =?UTF-8?B?R3LDvMOfZQ==?= aus =?UTF-8?Q?Z=C3=BCrich?=");
  // Adjacent words that need encoding share one encoded word, their space inside it.
  EXPECT_EQ(encode_header_text("Subject", "Grüße Zürich"), " =?UTF-8?B?R3LDvMOfZSBaw7xyaWNo?=");
  EXPECT_EQ(encode_header_text("Subject", "a =?x?= b"), " a =?UTF-8?B?PT94Pz0=?= b");
}

TEST(EncodeHeaderText, PrefersBase64WhenShorter) {
  std::string raw = encode_header_text("Subject", "日本語のテキスト");
  EXPECT_EQ(raw.find("=?UTF-8?Q?"), std::string::npos);
  EXPECT_NE(raw.find("=?UTF-8?B?"), std::string::npos);
}

TEST(EncodeHeaderText, FoldsAndRoundTrips) {
  const std::string long_ascii =
      "This is a rather long subject line that certainly will not fit on one line of a header";
  const std::string cases[] = {
      "Hello",
      long_ascii,
      long_ascii + " Grüße " + long_ascii,
      "Grüße " + std::string(200, 'x'),
      "ÄÖÜ äöü ß € " + std::string(40, 'e') + "é",
      "日本語のテキストはとても長いです。日本語のテキストはとても長いです。日本語のテキスト",
      "emoji 😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀 end",
      "looks =?UTF-8?Q?encoded?= but is not",
      "=?",
      "tabs\tand   many    spaces",
      "a" + std::string(300, ' ') + "b",
      "x" + std::string(300, ' ') + "ü",
      "control\x01\x7f chars",
      "injection\r\nBcc: victim@example.com",
      "nul\0byte"s,
      std::string(500, 'q'),
  };
  for (const auto& text : cases) {
    check_encoding("Subject", text);
    check_encoding("X-A-Very-Long-Header-Name-That-Takes-Up-Most-Of-The-Line-Already", text);
    check_encoding("Subject", text, "\n");
  }
}

TEST(EncodeHeaderText, RejectsInvalidUtf8) {
  EXPECT_THROW(encode_header_text("Subject", "caf\xe9"), std::invalid_argument);
  EXPECT_THROW(encode_header_text("Subject", "\xc0\x80"), std::invalid_argument);
}

}  // namespace
}  // namespace postern::mime
