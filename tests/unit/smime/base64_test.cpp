// The CMS body decoder (private to postern_smime) agrees with
// mime::decode_base64 on valid and damaged input.
#include <gtest/gtest.h>

#include <random>

#include "entity.hpp"
#include "postern/mime/transfer_encoding.hpp"

namespace postern::smime {
namespace {

TEST(CmsBase64, AgreesWithTheMimeDecoder) {
  std::mt19937 rng(1234);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \r\n\t*-";
  int valid = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    if (round % 2 == 0) {
      std::string raw(rng() % 200, '\0');
      for (char& c : raw) c = static_cast<char>(rng());
      text = mime::encode_base64(raw, 1 + rng() % 80);
      if (round % 4 == 0 && !text.empty()) text[rng() % text.size()] = alphabet[rng() % alphabet.size()];
      if (round % 8 == 2 && !text.empty()) text.resize(rng() % text.size());
    } else {
      text.resize(rng() % 12);
      for (char& c : text) c = alphabet[rng() % alphabet.size()];
    }
    const auto expected = mime::decode_base64(text);
    ASSERT_EQ(detail::decode_base64(text), expected) << "input: " << text;
    valid += expected.has_value() ? 1 : 0;
  }
  EXPECT_GT(valid, 5000);
  EXPECT_EQ(detail::decode_base64("QUJD\r\nRA==\r\n"), std::optional<std::string>("ABCD"));
  EXPECT_EQ(detail::decode_base64("QUJDRA=\r\n="), std::optional<std::string>("ABCD"));
  EXPECT_FALSE(detail::decode_base64("QUJDRA==QQ").has_value());
  EXPECT_FALSE(detail::decode_base64("QUJDR").has_value());
  EXPECT_FALSE(detail::decode_base64("QU*J").has_value());
}

}  // namespace
}  // namespace postern::smime
