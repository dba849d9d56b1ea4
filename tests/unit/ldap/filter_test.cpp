#include "postern/ldap/filter.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace postern::ldap {
namespace {

TEST(LdapFilter, EscapesTheCharactersRfc4515Reserves) {
  EXPECT_EQ(escape_filter_value("alice@example.org"), "alice@example.org");
  EXPECT_EQ(escape_filter_value("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
  EXPECT_EQ(escape_filter_value("a\\b"), "a\\5cb");
  EXPECT_EQ(escape_filter_value(std::string_view("a\0b", 3)), "a\\00b");
  EXPECT_EQ(escape_filter_value("a\r\nb\x7f"), "a\\0d\\0ab\\7f");
  EXPECT_EQ(escape_filter_value("j\xc3\xbcrg@example.org"), "j\xc3\xbcrg@example.org");  // UTF-8 stays
}

TEST(LdapFilter, ExpandsEveryPlaceholderWithTheEscapedValue) {
  EXPECT_EQ(expand_filter("(|(mail=%s)(mailAlternateAddress=%s))", "x*@y"),
            "(|(mail=x\\2a@y)(mailAlternateAddress=x\\2a@y))");
  EXPECT_EQ(expand_filter("(cn=%s%%)", "a"), "(cn=a%)");
  const std::string hostile = expand_filter("(mail=%s)", "*)(|(uid=*");
  EXPECT_EQ(hostile.find('*'), std::string::npos);
  EXPECT_EQ(std::count(hostile.begin(), hostile.end(), '('), 1);
}

TEST(LdapFilter, AttributeNames) {
  for (const char* ok : {"mail", "departmentNumber", "userCertificate;binary", "x-custom-1", "2.5.4.3",
                         "description;lang-en"}) {
    EXPECT_TRUE(valid_attribute_name(ok)) << ok;
  }
  for (const char* bad : {"", "1mail", "mail)(uid=*", "mail;", ";binary", "a b", "2.5..4", "mail,cn", "*"}) {
    EXPECT_FALSE(valid_attribute_name(bad)) << bad;
  }
}

}  // namespace
}  // namespace postern::ldap
