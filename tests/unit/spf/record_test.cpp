#include "postern/spf/record.hpp"

#include <gtest/gtest.h>

namespace postern::spf {
namespace {

struct SyntaxCase {
  const char* record;
  bool valid;
};

class RecordSyntax : public ::testing::TestWithParam<SyntaxCase> {};

TEST_P(RecordSyntax, ParsesOrRefuses) {
  const auto& c = GetParam();
  if (c.valid) {
    EXPECT_NO_THROW(parse_record(c.record)) << c.record;
  } else {
    EXPECT_THROW(parse_record(c.record), RecordError) << c.record;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, RecordSyntax,
    ::testing::Values(SyntaxCase{"v=spf1", true}, SyntaxCase{"v=spf1 -all", true},
                      SyntaxCase{"V=SPF1 +A:Example.COM/24//64 ~mx ?ptr -all", true},
                      SyntaxCase{"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all", true},
                      SyntaxCase{"v=spf1 ip4:1.1.1.1/0 ip6:::1.1.1.1/0", true},
                      SyntaxCase{"v=spf1 a:foo:bar/baz.example.com", true},
                      SyntaxCase{"v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all", true},
                      SyntaxCase{"v=spf1 include:_spf.example.com foo=%{d} -all", true},
                      SyntaxCase{"v=spf1 redirect=_spf.example.com", true},
                      SyntaxCase{"v=spf1 -all   ", true},
                      SyntaxCase{"v=spf1 ip4:1.2.3.4/032", false},   // leading zero
                      SyntaxCase{"v=spf1 ip4:192.0.2.0/33", false},
                      SyntaxCase{"v=spf1 ip6:2001:db8::/129", false},
                      SyntaxCase{"v=spf1 ip4:1.2.3", false},
                      SyntaxCase{"v=spf1 ip4:01.2.3.4", false},
                      SyntaxCase{"v=spf1 a:example", false},         // only a toplabel
                      SyntaxCase{"v=spf1 a:example.", false},
                      SyntaxCase{"v=spf1 a:example.123", false},     // numeric toplabel
                      SyntaxCase{"v=spf1 a:example.-com", false},
                      SyntaxCase{"v=spf1 a:", false},
                      SyntaxCase{"v=spf1 include", false},
                      SyntaxCase{"v=spf1 all:foo", false},
                      SyntaxCase{"v=spf1 foo:bar", false},           // unknown mechanism
                      SyntaxCase{"v=spf1 redirect=a.example redirect=b.example", false},
                      SyntaxCase{"v=spf1 exp=a.example exp=b.example", false},
                      SyntaxCase{"v=spf1 -redirect=a.example", false},
                      SyntaxCase{"v=spf1 exists:%{q}.example.com", false},   // unknown macro letter
                      SyntaxCase{"v=spf1 exists:%{c}.example.com", false},   // c only in exp text
                      SyntaxCase{"v=spf1 exists:%{d0}.example.com", false},  // zero digit
                      SyntaxCase{"v=spf1 exists:%{d9999}.example.com", false},
                      SyntaxCase{"v=spf1 exists:100%.example.com", false},
                      SyntaxCase{"v=spf1 a:caf\xc3\xa9.example", false},  // 7-bit only
                      SyntaxCase{"v=spf1 a:foo.example.com\x01", false},
                      SyntaxCase{"v=spf10 -all", false}, SyntaxCase{"spf2.0/pra -all", false}));

TEST(Record, ReadsTermsAndModifiers) {
  const Record r = parse_record("v=spf1 -a:mail.example.com/24//64 ~ip4:192.0.2.1 redirect=_spf.example.com exp=x.example");
  ASSERT_EQ(r.terms.size(), 2u);
  EXPECT_EQ(r.terms[0].qualifier, '-');
  EXPECT_EQ(r.terms[0].mechanism, Mechanism::a);
  EXPECT_EQ(r.terms[0].argument, "mail.example.com");
  EXPECT_EQ(r.terms[0].cidr4, 24);
  EXPECT_EQ(r.terms[0].cidr6, 64);
  EXPECT_EQ(r.terms[1].qualifier, '~');
  EXPECT_EQ(r.redirect.value_or(""), "_spf.example.com");
  EXPECT_EQ(r.exp.value_or(""), "x.example");
}

struct RenderCase {
  const char* record;
  const char* client;
  const char* rendered;
};

class Render : public ::testing::TestWithParam<RenderCase> {};

TEST_P(Render, RewritesWhatLibspf2MisreadsAndDropsTheRest) {
  const auto& c = GetParam();
  EXPECT_EQ(render(parse_record(c.record), *core::IpAddress::parse(c.client)), c.rendered);
}

INSTANTIATE_TEST_SUITE_P(
    Table, Render,
    ::testing::Values(
        RenderCase{"v=spf1 ip4:1.1.1.1/0 -all", "192.0.2.7", "v=spf1 ip4:192.0.2.7 -all"},
        RenderCase{"v=spf1 ip4:1.1.1.1/0 -all", "2001:db8::1", "v=spf1 ip4:1.1.1.1 -all"},
        RenderCase{"v=spf1 ip6:Cafe:Babe:8000::/33", "2001:db8::1", "v=spf1 ip6:cafe:babe:8000::/33"},
        RenderCase{"v=spf1 ip6:::1.1.1.1/0", "2001:db8::1", "v=spf1 ip6:2001:db8::1"},
        RenderCase{"v=spf1 a/0 -all", "192.0.2.7", "v=spf1 exists:%{d} -all"},
        RenderCase{"v=spf1 a:e.example//0 -all", "2001:db8::1", "v=spf1 exists:e.example.aaaa.postern-spf.invalid -all"},
        RenderCase{"v=spf1 mx:e.example./0", "192.0.2.7", "v=spf1 exists:e.example.mx-a.postern-spf.invalid"},
        RenderCase{"v=spf1 mx//0", "2001:db8::1", "v=spf1 exists:%{d}.mx-aaaa.postern-spf.invalid"},
        RenderCase{"v=spf1 a/24//64 mx", "192.0.2.7", "v=spf1 a/24 mx"},
        RenderCase{"v=spf1 a/24//64", "2001:db8::1", "v=spf1 a//64"},
        RenderCase{"v=spf1 include:x.example foo=bar exp=e.example redirect=r.example", "192.0.2.7",
                   "v=spf1 include:x.example redirect=r.example"}));

struct SelectCase {
  std::vector<std::string> txt;
  Scope scope;
  Selection::Kind kind;
  const char* text;
};

class Select : public ::testing::TestWithParam<SelectCase> {};

TEST_P(Select, ChoosesPerRfc7208AndRfc4406) {
  const auto& c = GetParam();
  const Selection s = select_record(c.txt, c.scope);
  EXPECT_EQ(s.kind, c.kind);
  EXPECT_EQ(s.text, c.text);
}

INSTANTIATE_TEST_SUITE_P(
    Table, Select,
    ::testing::Values(
        SelectCase{{"hello", "v=spf1 -all"}, Scope::mfrom, Selection::Kind::one, "v=spf1 -all"},
        SelectCase{{"v=spf1 -all", "v=spf1 +all"}, Scope::mfrom, Selection::Kind::multiple, ""},
        SelectCase{{"v=spf10 -all", "spf2.0/pra -all"}, Scope::mfrom, Selection::Kind::none, ""},
        SelectCase{{"v=spf1 -all", "spf2.0/pra +all"}, Scope::pra, Selection::Kind::one, "v=spf1 +all"},
        SelectCase{{"v=spf1 -all", "spf2.0/mfrom,PRA ~all"}, Scope::pra, Selection::Kind::one, "v=spf1 ~all"},
        SelectCase{{"v=spf1 -all", "spf2.0/mfrom +all"}, Scope::pra, Selection::Kind::one, "v=spf1 -all"},
        SelectCase{{"spf2.0/pra -all", "spf2.0/pra,mfrom +all"}, Scope::pra, Selection::Kind::multiple, ""},
        SelectCase{{"spf2.0/pra +all"}, Scope::mfrom, Selection::Kind::none, ""}));

TEST(Domain, CheckableDomains) {
  EXPECT_TRUE(is_checkable_domain("example.org"));
  EXPECT_TRUE(is_checkable_domain("example.org."));
  EXPECT_FALSE(is_checkable_domain("localhost"));
  EXPECT_FALSE(is_checkable_domain("a..example"));
  EXPECT_FALSE(is_checkable_domain("[192.0.2.1]"));
  EXPECT_FALSE(is_checkable_domain(std::string(64, 'a') + ".example"));
  EXPECT_TRUE(is_checkable_domain(std::string(63, 'a') + ".example"));
  EXPECT_FALSE(is_checkable_domain("exa mple.org"));
}

}  // namespace
}  // namespace postern::spf
