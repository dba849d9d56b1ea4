#include "postern/mime/address.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::mime {
namespace {

using namespace std::string_literals;

struct Expected {
  std::string display_name;
  std::string local_part;
  bool quoted;
  std::string domain;
  bool trailing_dot = false;
};

struct ListCase {
  const char* label;
  std::string raw;
  std::vector<Expected> mailboxes;
};

class AddressList : public ::testing::TestWithParam<ListCase> {};

TEST_P(AddressList, Parses) {
  const ListCase& c = GetParam();
  std::vector<Mailbox> got = parse_address_list(c.raw);
  ASSERT_EQ(got.size(), c.mailboxes.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(got[i].display_name, c.mailboxes[i].display_name);
    EXPECT_EQ(got[i].local_part, c.mailboxes[i].local_part);
    EXPECT_EQ(got[i].local_part_quoted, c.mailboxes[i].quoted);
    EXPECT_EQ(got[i].domain, c.mailboxes[i].domain);
    EXPECT_EQ(got[i].trailing_dot, c.mailboxes[i].trailing_dot);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AddressList,
    ::testing::Values(
        ListCase{"bare", " user@example.com", {{"", "user", false, "example.com"}}},
        ListCase{"name_addr", " John Doe <john@example.com>", {{"John Doe", "john", false, "example.com"}}},
        ListCase{"quoted_name_with_comma", "\"Doe, John\" <john@example.com>, x@y.example",
                 {{"Doe, John", "john", false, "example.com"}, {"", "x", false, "y.example"}}},
        ListCase{"quoted_local_escaped_quotes", R"("john \"q\" doe"@example.com)",
                 {{"", "john \"q\" doe", true, "example.com"}}},
        ListCase{"quoted_local_with_at", R"(<"a@b"@example.com>)", {{"", "a@b", true, "example.com"}}},
        ListCase{"quoted_local_dot_atom_content", R"("john"@example.com)", {{"", "john", true, "example.com"}}},
        ListCase{"obsolete_mixed_local", R"("john".doe@example.com)", {{"", "john.doe", true, "example.com"}}},
        ListCase{"comments", "john(the man)@example.com (x) ", {{"", "john", false, "example.com"}}},
        ListCase{"nested_comment_before_name", "(a (b) c) Mary <mary@x.example>", {{"Mary", "mary", false, "x.example"}}},
        ListCase{"undisclosed_recipients", "undisclosed-recipients:;", {}},
        ListCase{"group_without_semicolon", " undisclosed-recipients:", {}},
        ListCase{"group_members",
                 "Friends: a@x.example, B <b@y.example>;, c@z.example",
                 {{"", "a", false, "x.example"}, {"B", "b", false, "y.example"}, {"", "c", false, "z.example"}}},
        ListCase{"empty_elements", "a@x.example,, ,b@y.example,", {{"", "a", false, "x.example"}, {"", "b", false, "y.example"}}},
        ListCase{"encoded_display_name", "=?UTF-8?Q?Andr=C3=A9_Gide?= <andre@example.com>",
                 {{"André Gide", "andre", false, "example.com"}}},
        ListCase{"encoded_word_in_quotes", "\"=?UTF-8?Q?Andr=C3=A9?=\" <andre@example.com>",
                 {{"André", "andre", false, "example.com"}}},
        ListCase{"encoded_word_with_dot", "=?UTF-8?Q?Dr._M=C3=BCller?= <m@example.com>",
                 {{"Dr. Müller", "m", false, "example.com"}}},
        ListCase{"raw_utf8_name", "Jörg <joerg@example.com>", {{"Jörg", "joerg", false, "example.com"}}},
        ListCase{"initials_with_dot", "John Q. Public <jqp@example.com>", {{"John Q. Public", "jqp", false, "example.com"}}},
        ListCase{"source_route", "<@relay.example,@other.example:user@example.com>", {{"", "user", false, "example.com"}}},
        ListCase{"idn_domain", "user@bücher.example", {{"", "user", false, "bücher.example"}}},
        ListCase{"trailing_dot", "user@example.com.", {{"", "user", false, "example.com", true}}},
        ListCase{"ipv4_literal", "user@[192.0.2.1]", {{"", "user", false, "[192.0.2.1]"}}},
        ListCase{"ipv6_literal", "user@[IPv6:2001:db8::1]", {{"", "user", false, "[IPv6:2001:db8::1]"}}},
        ListCase{"folded", "A <a@x.example>,\r\n\tB <b@y.example>", {{"A", "a", false, "x.example"}, {"B", "b", false, "y.example"}}},
        ListCase{"obsolete_spaces", "mary . smith @ example . org", {{"", "mary.smith", false, "example.org"}}},
        ListCase{"utf8_local_part", "jörg@example.com", {{"", "jörg", false, "example.com"}}},
        ListCase{"empty", "  ", {}}),
    [](const auto& test) { return std::string(test.param.label); });

struct ErrorCase {
  const char* label;
  std::string raw;
  std::string message;  // expected to appear in what()
};

class AddressListError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(AddressListError, RejectsWithReason) {
  try {
    parse_address_list(GetParam().raw);
    FAIL() << "accepted";
  } catch (const AddressError& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().message), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AddressListError,
    ::testing::Values(
        ErrorCase{"unbalanced_quote", "\"unbalanced@example.com", "unbalanced quote at offset 0"},
        ErrorCase{"quote_ends_in_backslash", "\"abc\\", "unbalanced quote"},
        ErrorCase{"unbalanced_comment", "a(b@example.com", "unbalanced parenthesis at offset 1"},
        ErrorCase{"stray_paren", "a)@example.com", "unexpected ')'"},
        ErrorCase{"missing_angle", "John <a@example.com", "missing '>'"},
        ErrorCase{"missing_local", "@example.com", "missing local part"},
        ErrorCase{"empty_quoted_local", "\"\"@example.com", "empty local part"},
        ErrorCase{"double_dot_local", "john..doe@example.com", "empty part in the local part"},
        ErrorCase{"no_domain", "user", "missing '@domain'"},
        ErrorCase{"name_without_address", "John Doe", "missing '@domain'"},
        ErrorCase{"empty_domain", "user@", "empty domain"},
        ErrorCase{"hyphen_label", "user@-bad.example", "starts or ends with '-'"},
        ErrorCase{"underscore_label", "user@exa_mple.com", "character other than"},
        ErrorCase{"long_label", "user@" + std::string(64, 'a') + ".example", "longer than 63"},
        ErrorCase{"long_domain", "user@" + std::string(50, 'a') + "." + std::string(50, 'b') + "." +
                                     std::string(50, 'c') + "." + std::string(50, 'd') + "." +
                                     std::string(50, 'e') + ".example",
                  "longer than 253"},
        ErrorCase{"bad_punycode", "user@xn--zz.example", "not a valid IDN"},
        ErrorCase{"disallowed_idn", "user@☃.example", "not a valid IDN"},
        ErrorCase{"bad_literal", "user@[999.1.1.1]", "address literal"},
        ErrorCase{"untagged_v6_literal", "user@[2001:db8::1]", "address literal"},
        ErrorCase{"unterminated_literal", "user@[192.0.2.1", "unterminated address literal"},
        ErrorCase{"control_char", "us\x01" "er@example.com", "control character at offset 2"},
        ErrorCase{"nul", "a\0b@example.com"s, "control character at offset 1"},
        ErrorCase{"latin1_local", "Name <j\xf6rg@example.com>", "local part is not valid UTF-8 at offset 6"},
        ErrorCase{"junk_domain", "user@\xff.example", "not a valid IDN"},
        ErrorCase{"bare_line_break", "a@example.com\r\nb@example.com", "control character"},
        ErrorCase{"missing_comma", "a@b.example c@d.example", "expected ','"},
        ErrorCase{"double_dot_domain", "a@b..example", "expected ','"},
        ErrorCase{"junk_after_angle", "A <a@b.example> junk", "expected ','"},
        ErrorCase{"bad_group_member", "G: a@b.example c;", "expected ',' or ';'"},
        ErrorCase{"one_bad_in_list", "good@example.com, bad@", "empty domain"}),
    [](const auto& test) { return std::string(test.param.label); });

TEST(EnvelopePath, NullPath) {
  EXPECT_FALSE(parse_envelope_path("<>").has_value());
  EXPECT_FALSE(parse_envelope_path("").has_value());
}

struct PathCase {
  const char* label;
  std::string path;
  std::string local_part;
  std::string domain;
  std::string envelope;
};

class EnvelopePathValid : public ::testing::TestWithParam<PathCase> {};

TEST_P(EnvelopePathValid, Parses) {
  auto mailbox = parse_envelope_path(GetParam().path);
  ASSERT_TRUE(mailbox.has_value());
  EXPECT_EQ(mailbox->local_part, GetParam().local_part);
  EXPECT_EQ(mailbox->domain, GetParam().domain);
  EXPECT_EQ(mailbox->to_envelope(), GetParam().envelope);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EnvelopePathValid,
    ::testing::Values(
        PathCase{"angle", "<user@example.com>", "user", "example.com", "<user@example.com>"},
        PathCase{"bare", "user@example.com", "user", "example.com", "<user@example.com>"},
        PathCase{"quoted_space", R"(<"john doe"@example.com>)", "john doe", "example.com",
                 R"(<"john doe"@example.com>)"},
        PathCase{"quoted_escapes", R"(<"a\"b\\c"@example.com>)", "a\"b\\c", "example.com",
                 R"(<"a\"b\\c"@example.com>)"},
        PathCase{"needless_quotes", R"(<"john"@example.com>)", "john", "example.com", "<john@example.com>"},
        PathCase{"source_route", "<@a.example,@b.example:user@c.example>", "user", "c.example", "<user@c.example>"},
        PathCase{"idn", "<user@bücher.example>", "user", "bücher.example", "<user@xn--bcher-kva.example>"},
        PathCase{"uppercase_domain", "<User@Example.COM>", "User", "Example.COM", "<User@example.com>"},
        PathCase{"smtputf8_local", "<jörg@example.com>", "jörg", "example.com", "<jörg@example.com>"},
        PathCase{"literal", "<user@[192.0.2.1]>", "user", "[192.0.2.1]", "<user@[192.0.2.1]>"},
        PathCase{"trailing_dot", "<user@example.com.>", "user", "example.com", "<user@example.com>"}),
    [](const auto& test) { return std::string(test.param.label); });

class EnvelopePathError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(EnvelopePathError, Rejects) {
  try {
    parse_envelope_path(GetParam().raw);
    FAIL() << "accepted";
  } catch (const AddressError& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().message), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EnvelopePathError,
    ::testing::Values(ErrorCase{"unclosed", "<user@example.com", "without closing '>'"},
                      ErrorCase{"space", "<user @example.com>", "whitespace in a path"},
                      ErrorCase{"comment", "<user(x)@example.com>", "comment in a path"},
                      ErrorCase{"no_domain", "<postmaster>", "missing '@domain'"},
                      ErrorCase{"display_name", "<John <j@example.com>>", "whitespace in a path"},
                      ErrorCase{"two_addresses", "<a@b.example,c@d.example>", "unexpected text"},
                      ErrorCase{"unbalanced_quote", "<\"john@example.com>", "unbalanced quote"},
                      ErrorCase{"bad_domain", "<user@exa!mple.com>", "character other than"}),
    [](const auto& test) { return std::string(test.param.label); });

Mailbox one(const std::string& raw) {
  auto list = parse_address_list(raw);
  EXPECT_EQ(list.size(), 1U);
  return list.at(0);
}

TEST(Mailbox, DomainForms) {
  Mailbox idn = one("user@BÜCHER.example");
  EXPECT_EQ(idn.domain_ascii(), "xn--bcher-kva.example");
  EXPECT_EQ(idn.domain_unicode(), "bücher.example");
  Mailbox alabel = one("user@xn--bcher-kva.example");
  EXPECT_EQ(alabel.domain_ascii(), "xn--bcher-kva.example");
  EXPECT_EQ(alabel.domain_unicode(), "bücher.example");
  EXPECT_EQ(one("user@Example.COM").domain_ascii(), "example.com");
  EXPECT_EQ(one("user@[IPv6:2001:db8::1]").domain_unicode(), "[IPv6:2001:db8::1]");
  // Non-transitional IDNA2008: ß is kept, not mapped to "ss".
  EXPECT_EQ(one("user@faß.de").domain_ascii(), "xn--fa-hia.de");
}

TEST(Mailbox, SameAddress) {
  EXPECT_TRUE(one("user@EXAMPLE.com").same_address(one("Someone <user@example.com.>")));
  EXPECT_TRUE(one("user@bücher.example").same_address(one("user@xn--bcher-kva.example")));
  EXPECT_TRUE(one("\"user\"@example.com").same_address(one("user@example.com")));
  EXPECT_FALSE(one("User@example.com").same_address(one("user@example.com")));
  EXPECT_FALSE(one("user@example.com").same_address(one("user@example.org")));
}

TEST(Mailbox, AddrSpecQuotesOnlyWhereNeeded) {
  EXPECT_EQ(one(R"("john doe"@example.com)").addr_spec(), R"("john doe"@example.com)");
  EXPECT_EQ(one(R"("john"@example.com)").addr_spec(), "john@example.com");
  EXPECT_EQ(one(R"(".john"@example.com)").addr_spec(), R"(".john"@example.com)");
  EXPECT_EQ(one(R"("a@b"@example.com)").addr_spec(), R"("a@b"@example.com)");
  EXPECT_EQ(one("user@bücher.example").addr_spec(), "user@bücher.example");
}

TEST(Mailbox, HandBuiltMailboxWithBadDomainThrows) {
  Mailbox m;
  m.local_part = "user";
  m.domain = "bad domain";
  EXPECT_THROW(m.domain_ascii(), AddressError);
  EXPECT_THROW(m.to_envelope(), AddressError);
  m.domain = "a\0b.example"s;
  EXPECT_THROW(m.domain_ascii(), AddressError);
  m.domain = "bü\0cher.example"s;
  EXPECT_THROW(m.domain_ascii(), AddressError);
}

}  // namespace
}  // namespace postern::mime
