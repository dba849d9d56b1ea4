#include "postern/mime/transfer_encoding.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>

namespace postern::mime {
namespace {

using namespace std::string_literals;

struct Base64Case {
  std::string text;
  std::optional<std::string> bytes;
};

class DecodeBase64 : public ::testing::TestWithParam<Base64Case> {};

TEST_P(DecodeBase64, Decodes) { EXPECT_EQ(decode_base64(GetParam().text), GetParam().bytes); }

INSTANTIATE_TEST_SUITE_P(
    Cases, DecodeBase64,
    ::testing::Values(
        // RFC 4648 §10.
        Base64Case{"", ""}, Base64Case{"Zg==", "f"}, Base64Case{"Zm8=", "fo"}, Base64Case{"Zm9v", "foo"},
        Base64Case{"Zm9vYg==", "foob"}, Base64Case{"Zm9vYmE=", "fooba"}, Base64Case{"Zm9vYmFy", "foobar"},
        // Whitespace anywhere, missing padding.
        Base64Case{"Zm9v\r\nYmFy\r\n", "foobar"}, Base64Case{" Z m\t9 v ", "foo"}, Base64Case{"Zm9vYg", "foob"},
        Base64Case{"Zm8", "fo"}, Base64Case{"Zg==\r\n", "f"}, Base64Case{"Zg= =", "f"},
        Base64Case{"AAD/", "\0\0\xff"s},
        // Damage.
        Base64Case{"Zm9v!", std::nullopt}, Base64Case{"Zm9v-_", std::nullopt}, Base64Case{"Z", std::nullopt},
        Base64Case{"Zm9vY", std::nullopt}, Base64Case{"Zg===", std::nullopt}, Base64Case{"Zg==Zg==", std::nullopt},
        Base64Case{"Zm9=v", std::nullopt}, Base64Case{"=", std::nullopt}, Base64Case{"Zm8==", std::nullopt},
        Base64Case{"Zm9v=", std::nullopt}, Base64Case{"Zm9v\0YmFy"s, std::nullopt},
        Base64Case{"Zm9v\xc3\xa9", std::nullopt}));

TEST(EncodeBase64, Rfc4648Vectors) {
  EXPECT_EQ(encode_base64(""), "");
  EXPECT_EQ(encode_base64("f"), "Zg==");
  EXPECT_EQ(encode_base64("fo"), "Zm8=");
  EXPECT_EQ(encode_base64("foo"), "Zm9v");
  EXPECT_EQ(encode_base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(encode_base64("\0\0\xff"s), "AAD/");
}

TEST(EncodeBase64, WrapsLines) {
  std::string bytes(100, 'x');  // 136 characters of base64
  std::string wrapped = encode_base64(bytes, 76, "\r\n");
  ASSERT_EQ(wrapped.size(), 136U + 4U);
  EXPECT_EQ(wrapped.find("\r\n"), 76U);
  EXPECT_EQ(wrapped.substr(wrapped.size() - 2), "\r\n");
  EXPECT_EQ(encode_base64(std::string(57, 'y'), 76, "\n").size(), 77U);  // exactly one full line
  EXPECT_EQ(decode_base64(wrapped), bytes);
}

TEST(Base64, RoundTripsRandomBytes) {
  std::mt19937 random(42);
  for (std::size_t size = 0; size < 200; ++size) {
    std::string bytes(size, '\0');
    for (auto& b : bytes) {
      b = static_cast<char>(random());
    }
    EXPECT_EQ(decode_base64(encode_base64(bytes, 64, "\n")), bytes) << size;
  }
}

struct QpCase {
  const char* label;
  std::string text;
  std::string decoded;
};

class DecodeQuotedPrintable : public ::testing::TestWithParam<QpCase> {};

TEST_P(DecodeQuotedPrintable, Decodes) { EXPECT_EQ(decode_quoted_printable(GetParam().text), GetParam().decoded); }

INSTANTIATE_TEST_SUITE_P(
    Cases, DecodeQuotedPrintable,
    ::testing::Values(QpCase{"escape", "a=3Db", "a=b"}, QpCase{"lowercase_hex", "caf=c3=a9", "café"},
                      QpCase{"soft_break_crlf", "abc=\r\ndef", "abcdef"},
                      QpCase{"soft_break_lf", "abc=\ndef", "abcdef"},
                      QpCase{"soft_break_with_padding", "abc= \t\r\ndef", "abcdef"},
                      QpCase{"soft_break_at_end", "abc=", "abc"},
                      QpCase{"hard_breaks_kept", "a\r\nb\nc", "a\r\nb\nc"},
                      QpCase{"trailing_space_dropped", "abc  \r\ndef\t\n", "abc\r\ndef\n"},
                      QpCase{"invalid_escape_kept", "=ZZ and =4", "=ZZ and =4"},
                      QpCase{"escaped_crlf", "a=0D=0Ab", "a\r\nb"},
                      QpCase{"nul", "a=00b", "a\0b"s}, QpCase{"empty", "", ""},
                      QpCase{"eight_bit_passes", "\xff=41", "\xff" "A"}),
    [](const auto& test) { return std::string(test.param.label); });

}  // namespace
}  // namespace postern::mime
