#include "postern/mime/content_type.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace postern::mime {
namespace {

struct TypeCase {
  const char* label;
  std::string raw;
  std::string type;
  std::string subtype;
  std::vector<std::pair<std::string, std::string>> params;  // expected, in order
};

class ContentTypeParse : public ::testing::TestWithParam<TypeCase> {};

TEST_P(ContentTypeParse, Parses) {
  const TypeCase& c = GetParam();
  auto parsed = ContentType::parse(c.raw);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->type, c.type);
  EXPECT_EQ(parsed->subtype, c.subtype);
  ASSERT_EQ(parsed->params.size(), c.params.size());
  for (std::size_t i = 0; i < c.params.size(); ++i) {
    EXPECT_EQ(parsed->params[i].name, c.params[i].first);
    EXPECT_EQ(parsed->params[i].value, c.params[i].second);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ContentTypeParse,
    ::testing::Values(
        TypeCase{"simple", " text/plain; charset=\"utf-8\"", "text", "plain", {{"charset", "utf-8"}}},
        TypeCase{"case_and_fold", " Multipart/Mixed;\r\n\tBoundary=\"=_abc\"", "multipart", "mixed",
                 {{"boundary", "=_abc"}}},
        TypeCase{"unquoted_tspecials", " multipart/alternative; boundary=----=_NextPart_000_0012",
                 "multipart", "alternative", {{"boundary", "----=_NextPart_000_0012"}}},
        TypeCase{"quoted_escape", R"( text/plain; x="a\"b\\c")", "text", "plain", {{"x", "a\"b\\c"}}},
        TypeCase{"comments", " text/plain (a comment); charset=us-ascii (another)", "text", "plain",
                 {{"charset", "us-ascii"}}},
        TypeCase{"spaces_around", " text / html ; charset = utf-8 ", "text", "html", {{"charset", "utf-8"}}},
        TypeCase{"rfc2231_extended", " application/pdf; name*=utf-8''%E2%82%AC%20rates.pdf", "application",
                 "pdf", {{"name", "€ rates.pdf"}}},
        TypeCase{"rfc2231_continuation",
                 " message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n"
                 " URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
                 "message", "external-body",
                 {{"access-type", "URL"}, {"url", "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"}}},
        TypeCase{"rfc2231_mixed_continuation",
                 " application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20;"
                 " title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
                 "application", "x-stuff", {{"title", "This is even more ***fun*** isn't it!"}}},
        TypeCase{"rfc2231_out_of_order", " a/b; n*1=\"def\"; n*0=\"abc\"", "a", "b", {{"n", "abcdef"}}},
        TypeCase{"rfc2231_gap_ends_value", " a/b; n*0=\"abc\"; n*2=\"ghi\"", "a", "b", {{"n", "abc"}}},
        TypeCase{"rfc2231_latin1", " a/b; name*=iso-8859-1'de'M%FCller.txt", "a", "b", {{"name", "Müller.txt"}}},
        TypeCase{"rfc2231_no_charset", " a/b; name*=''plain%20name", "a", "b", {{"name", "plain name"}}},
        TypeCase{"rfc2231_unknown_charset", " a/b; name*=x-unknown''abc%41", "a", "b", {{"name", "x-unknown''abc%41"}}},
        TypeCase{"rfc2231_no_quote_marks", " a/b; name*=abc", "a", "b", {{"name", "abc"}}},
        TypeCase{"rfc2231_bad_percent", " a/b; name*=utf-8''100%zz", "a", "b", {{"name", "100%zz"}}},
        TypeCase{"extended_wins", " a/b; name=\"a.txt\"; name*=utf-8''b%C3%A4.txt", "a", "b", {{"name", "bä.txt"}}},
        TypeCase{"first_duplicate_wins", " a/b; x=1; x=2", "a", "b", {{"x", "1"}}},
        TypeCase{"junk_between_params", " text/plain; charset=utf-8 junk here; format=flowed", "text", "plain",
                 {{"charset", "utf-8"}, {"format", "flowed"}}},
        TypeCase{"missing_value", " text/plain; charset; format=flowed", "text", "plain", {{"format", "flowed"}}},
        TypeCase{"unterminated_quote", " text/plain; name=\"abc", "text", "plain", {{"name", "abc"}}},
        TypeCase{"unterminated_comment", " text/plain (oops", "text", "plain", {}},
        TypeCase{"trailing_semicolon", " text/plain;", "text", "plain", {}}),
    [](const auto& test) { return std::string(test.param.label); });

TEST(ContentType, InvalidHasNoValue) {
  for (const char* raw : {"", " ", "text", "text/", "/plain", " (only a comment)", "text plain"}) {
    EXPECT_FALSE(ContentType::parse(raw).has_value()) << raw;
  }
}

TEST(ContentType, IsAndParam) {
  auto type = ContentType::parse("multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256");
  ASSERT_TRUE(type.has_value());
  EXPECT_TRUE(type->is("multipart"));
  EXPECT_TRUE(type->is("Multipart", "SIGNED"));
  EXPECT_FALSE(type->is("multipart", "mixed"));
  EXPECT_FALSE(type->is("text"));
  ASSERT_NE(type->param("Protocol"), nullptr);
  EXPECT_EQ(*type->param("Protocol"), "application/pkcs7-signature");
  EXPECT_EQ(type->param("boundary"), nullptr);
}

TEST(ContentType, DefaultIsTextPlain) {
  ContentType type;
  EXPECT_TRUE(type.is("text", "plain"));
}

TEST(ContentDisposition, Parses) {
  auto attachment = ContentDisposition::parse(" Attachment;\r\n filename=\"report.pdf\"; size=1234");
  EXPECT_EQ(attachment.type, "attachment");
  ASSERT_NE(attachment.param("filename"), nullptr);
  EXPECT_EQ(*attachment.param("filename"), "report.pdf");
  EXPECT_EQ(*attachment.param("SIZE"), "1234");
  EXPECT_EQ(ContentDisposition::parse("INLINE").type, "inline");
  EXPECT_EQ(ContentDisposition::parse("").type, "");
  auto extended = ContentDisposition::parse("attachment; filename*0*=utf-8''Gr%C3%BC; filename*1*=%C3%9Fe.txt");
  EXPECT_EQ(*extended.param("filename"), "Grüße.txt");
}

}  // namespace
}  // namespace postern::mime
