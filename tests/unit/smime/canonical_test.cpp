// canonical_entity and the quoted-printable encoder.
#include "postern/smime/canonical.hpp"

#include <gtest/gtest.h>

#include "postern/mime/transfer_encoding.hpp"

namespace postern::smime {
namespace {

TEST(Canonical, LineBreaksBecomeCrlf) {
  EXPECT_EQ(to_crlf("a\nb\r\nc\n"), "a\r\nb\r\nc\r\n");
  EXPECT_EQ(canonical_entity("Content-Type: text/plain\n\nhello\nworld\n"),
            "Content-Type: text/plain\r\n\r\nhello\r\nworld\r\n");
}

TEST(Canonical, SevenBitPartsAreKeptByteForByte) {
  const std::string entity =
      "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\npre\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
      "x =3D y\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "AAEC\r\n--b--\r\nepilogue\r\n";
  EXPECT_EQ(canonical_entity(entity), entity);
}

TEST(Canonical, EightBitTextBecomesQuotedPrintable) {
  const std::string out = canonical_entity(
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xC3\xBC\xC3\x9F"
      "e \r\nFrom here\r\n");
  EXPECT_EQ(out,
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            "Gr=C3=BC=C3=9Fe=20\r\n=46rom here\r\n");
  EXPECT_EQ(mime::decode_quoted_printable("Gr=C3=BC=C3=9Fe=20\r\n=46rom here\r\n"),
            "Gr\xC3\xBC\xC3\x9F" "e \r\nFrom here\r\n");
}

TEST(Canonical, EightBitBinaryBecomesBase64InsideMultipart) {
  const std::string out = canonical_entity(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\n"
      "Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n\x01\x80\xFF\n--b--\n");
  EXPECT_EQ(out,
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAYD/\r\n"
            "\r\n--b--\r\n");
}

TEST(Canonical, BrokenMultipartIsNotGivenATransferEncoding) {
  // No boundary parameter: a leaf for the parser, still not base64-able.
  const std::string entity = "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\n\xE4\r\n--x--\r\n";
  EXPECT_EQ(canonical_entity(entity), entity);
}

TEST(Canonical, LongLinesAreSoftBroken) {
  const std::string line(2000, 'a');
  const std::string out = canonical_entity("Content-Type: text/plain\r\n\r\n" + line + "\r\n");
  EXPECT_NE(out.find("Content-Transfer-Encoding: quoted-printable"), std::string::npos);
  std::size_t longest = 0;
  std::size_t at = 0;
  while (at < out.size()) {
    std::size_t end = out.find("\r\n", at);
    if (end == std::string::npos) end = out.size();
    longest = std::max(longest, end - at);
    at = end + 2;
  }
  EXPECT_LE(longest, 76U);
  const std::string body = out.substr(out.find("\r\n\r\n") + 4);
  EXPECT_EQ(mime::decode_quoted_printable(body), line + "\r\n");
}

TEST(Canonical, QuotedPrintableRoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    if (i != '\r' && i != '\n') all.push_back(static_cast<char>(i));
  }
  all += " \t\r\nnext\t\r\n";
  const std::string qp = encode_quoted_printable(all);
  for (char c : qp) EXPECT_TRUE(static_cast<unsigned char>(c) < 0x80 && c != '\0');
  EXPECT_EQ(mime::decode_quoted_printable(qp), all);
}

TEST(Canonical, DeepNestingIsALimitError) {
  std::string entity;
  for (int i = 0; i < 200; ++i) entity += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
  entity += "Content-Type: text/plain\r\n\r\nx\r\n";
  EXPECT_THROW(canonical_entity(entity), mime::LimitError);
}

}  // namespace
}  // namespace postern::smime
