#include "postern/incamail/recipient_rewriter.hpp"

#include <gtest/gtest.h>

#include "postern/core/error.hpp"

namespace postern::incamail {
namespace {

using Kind = Recipient::Kind;

struct RewriteCase {
  const char* name;
  std::string rcpt;
  Kind kind;
  std::string rewritten;  // external: new address; refused: expected "code xcode text"
};

std::string describe(const Recipient& r) {
  if (r.refusal) return r.refusal->code + " " + r.refusal->xcode + " " + r.refusal->text;
  return r.rewritten;
}

class RecipientRewriterTest : public ::testing::TestWithParam<RewriteCase> {
 protected:
  RecipientRewriter rewriter_{DomainList({"internal.example", ".corp.example", "m\xc3\xbcller.example"}, {})};
};

TEST_P(RecipientRewriterTest, Classifies) {
  const RewriteCase& c = GetParam();
  Recipient r = rewriter_.classify(c.rcpt);
  EXPECT_EQ(r.kind, c.kind) << describe(r);
  EXPECT_EQ(describe(r), c.rewritten);
  EXPECT_EQ(r.original, c.rcpt);
  EXPECT_EQ(r.refusal.has_value(), c.kind == Kind::bare_incamail || c.kind == Kind::unusable);
}

const std::string kLongLabel(60, 'a');

INSTANTIATE_TEST_SUITE_P(
    Addresses, RecipientRewriterTest,
    ::testing::Values(
        RewriteCase{"external", "<bob@example.com>", Kind::external, "<bob@example.com.incamail.ch>"},
        RewriteCase{"without_brackets", "bob@example.com", Kind::external, "<bob@example.com.incamail.ch>"},
        RewriteCase{"local_case_kept_domain_lowered", "<Bob.Meier@Example.COM>", Kind::external,
                    "<Bob.Meier@example.com.incamail.ch>"},
        RewriteCase{"trailing_dot", "<bob@example.com.>", Kind::external, "<bob@example.com.incamail.ch>"},
        RewriteCase{"quoted_local_part", "<\"john doe\"@example.com>", Kind::external,
                    "<\"john doe\"@example.com.incamail.ch>"},
        RewriteCase{"needless_quotes_dropped", "<\"john\"@example.com>", Kind::external,
                    "<john@example.com.incamail.ch>"},
        RewriteCase{"idn_domain", "<bob@b\xc3\xbc"
                                  "cher.ch>",
                    Kind::external, "<bob@xn--bcher-kva.ch.incamail.ch>"},
        RewriteCase{"plus_address", "<bob+offers@example.com>", Kind::external,
                    "<bob+offers@example.com.incamail.ch>"},
        RewriteCase{"internal", "<alice@internal.example>", Kind::internal, ""},
        RewriteCase{"internal_any_case", "<alice@INTERNAL.Example.>", Kind::internal, ""},
        RewriteCase{"internal_subdomain", "<alice@zh.corp.example>", Kind::internal, ""},
        RewriteCase{"parent_entry_is_not_the_domain", "<alice@corp.example>", Kind::external,
                    "<alice@corp.example.incamail.ch>"},
        RewriteCase{"internal_idn_as_a_label", "<alice@xn--mller-kva.example>", Kind::internal, ""},
        RewriteCase{"unqualified_local_name", "<postmaster>", Kind::internal, ""},
        RewriteCase{"already_incamail", "<bob@example.com.incamail.ch>", Kind::incamail, ""},
        RewriteCase{"already_incamail_any_case", "<bob@Example.COM.IncaMail.CH>", Kind::incamail, ""},
        RewriteCase{"bare_incamail", "<user@incamail.ch>", Kind::bare_incamail,
                    "550 5.1.3 IncaMail: <user@incamail.ch> names no recipient domain; address IncaMail "
                    "recipients as user@their-domain.incamail.ch"},
        RewriteCase{"bare_incamail_upper_dot", "<user@INCAMAIL.CH.>", Kind::bare_incamail,
                    "550 5.1.3 IncaMail: <user@INCAMAIL.CH.> names no recipient domain; address IncaMail "
                    "recipients as user@their-domain.incamail.ch"},
        RewriteCase{"lookalike_domain_is_external", "<bob@notincamail.ch>", Kind::external,
                    "<bob@notincamail.ch.incamail.ch>"},
        RewriteCase{"address_literal", "<bob@[192.0.2.1]>", Kind::unusable,
                    "550 5.1.3 IncaMail: <bob@[192.0.2.1]> is an address literal and cannot be sent via IncaMail"},
        RewriteCase{"source_route", "<@relay.example:bob@example.com>", Kind::unusable,
                    "550 5.1.3 IncaMail: <@relay.example:bob@example.com> is source-routed and cannot be sent "
                    "via IncaMail"},
        RewriteCase{"non_ascii_local_part", "<j\xc3\xb6rg@example.com>", Kind::unusable,
                    "550 5.6.7 IncaMail: <j??rg@example.com> has a non-ASCII local part, which cannot be sent "
                    "via IncaMail"},
        RewriteCase{"unreadable", "<bob@@example.com>", Kind::unusable,
                    "550 5.1.3 IncaMail: <bob@@example.com> cannot be read as a mail address"},
        RewriteCase{"null_path", "<>", Kind::unusable, "550 5.1.3 IncaMail: <> is the null address"},
        RewriteCase{"too_long", "<bob@" + kLongLabel + "." + kLongLabel + "." + kLongLabel + "." + kLongLabel + ".ch>",
                    Kind::unusable,
                    "550 5.1.3 IncaMail: <bob@" + kLongLabel + "." + kLongLabel + "." + kLongLabel + "." +
                        kLongLabel.substr(0, 13) +
                        "...> is too long to be sent via IncaMail"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(RecipientRewriter, KeepsTheRecipientAddressForOrcpt) {
  RecipientRewriter rewriter(DomainList{});
  EXPECT_EQ(rewriter.classify("<Bob@B\xc3\xbc"
                              "cher.CH.>")
                .address,
            "Bob@xn--bcher-kva.ch");
  EXPECT_EQ(rewriter.classify("<\"a b\"@example.com>").address, "\"a b\"@example.com");
}

TEST(DomainList, MatchesPostfixStyle) {
  DomainList list({"example.com", ".corp.example", "EXAMPLE.org"}, {});
  EXPECT_TRUE(list.matches("example.com"));
  EXPECT_FALSE(list.matches("sub.example.com"));
  EXPECT_TRUE(list.matches("zh.corp.example"));
  EXPECT_TRUE(list.matches("a.zh.corp.example"));
  EXPECT_FALSE(list.matches("corp.example"));
  EXPECT_FALSE(list.matches("xcorp.example"));
  EXPECT_TRUE(list.matches("example.org"));
  EXPECT_TRUE(list.mentioned_in("IncaMail <x@Example.COM"));
  EXPECT_FALSE(list.mentioned_in("x@example.net"));
  EXPECT_FALSE(DomainList{}.matches("example.com"));
}

TEST(DomainList, RefusesWhatIsNotADomain) {
  for (const char* bad : {"", ".", "exa mple.com", "[192.0.2.1]", "a@b.example", "example.com.", "-x.example"}) {
    EXPECT_THROW(DomainList({bad}, {"incamail.yaml", 3, 5}), core::ConfigError) << bad;
  }
}

}  // namespace
}  // namespace postern::incamail
