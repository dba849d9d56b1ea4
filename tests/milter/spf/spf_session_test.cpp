// Connection-level sequences through the in-process driver: several
// messages on one connection, an abort mid-message, a close-only
// connection, and the settings and pure helpers the sessions rely on.
#include <gtest/gtest.h>

#include <algorithm>

#include "postern/config/config.hpp"
#include "postern/log/log.hpp"
#include "postern/spf/zone_resolver.hpp"
#include "postern/spf_milter/auth_headers.hpp"
#include "postern/spf_milter/settings.hpp"
#include "postern/spf_milter/spf_filter.hpp"
#include "postern/spf_milter/tls_policy.hpp"
#include "postern/testing/milter_driver.hpp"

namespace postern::spf_milter {
namespace {

std::shared_ptr<const milter::Filter> filter(const std::string& yaml = "") {
  auto zone = std::make_shared<spf::ZoneResolver>(spf::ZoneResolver::parse(
      "example.org TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\nother.example TXT \"v=spf1 -all\"\n"));
  const auto cfg = config::load_string(schema(), "spf:\n  authserv_id: mx.example.com\n" + yaml, "test");
  return build_filter_with(cfg, zone);
}

int count(const std::vector<std::string>& lines, std::string_view needle) {
  return static_cast<int>(std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
    return l.find(needle) != std::string::npos;
  }));
}

class Session : public ::testing::Test {
 protected:
  void SetUp() override { log::init("postern-spf", log::Sink::none); }
};

TEST_F(Session, SeveralMessagesOnOneConnectionAreJudgedEachOnTheirOwn) {
  testing::MilterDriver d(filter());
  testing::Envelope env;
  d.open(env);
  d.connect();
  d.helo();
  const auto first = d.message("Authentication-Results: mx.example.com; spf=pass\r\nFrom: a@example.org\r\n\r\nx\r\n");
  EXPECT_EQ(count(first.transcript, "delete_header \"Authentication-Results\" 1"), 1);
  EXPECT_EQ(count(first.transcript, "spf=pass smtp.mailfrom=sender@example.org"), 1);
  // The second message has no forged header: nothing is deleted.
  const auto second = d.message("From: a@example.org\r\n\r\ny\r\n");
  EXPECT_EQ(count(second.transcript, "delete_header"), 0);
  EXPECT_EQ(count(second.transcript, "insert_header 0 \"Authentication-Results\""), 1);
  d.close();
}

TEST_F(Session, AbortResetsTheMessage) {
  testing::MilterDriver d(filter());
  testing::Envelope env;
  d.open(env);
  d.connect();
  d.helo();
  d.aborted_message("Received-SPF: pass\r\nFrom: a@example.org\r\n\r\nx\r\n", 3);
  const auto next = d.message("From: a@example.org\r\n\r\ny\r\n");
  EXPECT_EQ(count(next.transcript, "delete_header"), 0);
  EXPECT_EQ(next.verdict.status, milter::Status::proceed);
  d.close();
}

TEST_F(Session, CloseOnlyConnection) {
  testing::MilterDriver d(filter());
  testing::Envelope env;
  d.open(env);
  d.close();
  SUCCEED();
}

TEST_F(Session, RecipientScopeIsPerRecipient) {
  testing::MilterDriver d(filter("  mode: securemail\nsecuremail:\n  recipient_domains: [secure.example]\n"));
  testing::Envelope env;
  env.client_address = "203.0.113.9";  // fails SPF for example.org
  env.sender = "<alice@example.org>";
  env.recipients = {"<a@secure.example>", "<b@public.example>"};
  const auto r = d.run(env, "From: alice@example.org\r\n\r\nx\r\n");
  EXPECT_EQ(r.accepted_recipients, std::vector<std::string>{"<b@public.example>"});
  EXPECT_EQ(r.verdict.status, milter::Status::proceed);
}

TEST(Settings, RejectsBadValues) {
  for (const char* yaml : {"spf:\n  authserv_id: 'mx example'\n", "dns:\n  servers: ['resolver.example']\n",
                           "dns:\n  servers: ['::1']\n", "dns:\n  cache_min_ttl: 2h\n  cache_max_ttl: 1h\n",
                           "securemail:\n  min_tls_version: SSLv3\n", "dns:\n  check_budget: 20s\n"}) {
    EXPECT_THROW(
        {
          const auto cfg = config::load_string(schema(), yaml, "test");
          Settings::from(cfg);
        },
        core::ConfigError)
        << yaml;
  }
  const auto cfg = config::load_string(schema(), "dns:\n  servers: ['127.0.0.1:5353']\n", "test");
  EXPECT_EQ(Settings::from(cfg).dns.servers.at(0).port, 5353);
}

TEST(Settings, DomainLists) {
  const std::vector<std::string> list{"example.com", ".corp.example"};
  EXPECT_TRUE(domain_listed(list, "EXAMPLE.com"));
  EXPECT_FALSE(domain_listed(list, "sub.example.com"));
  EXPECT_TRUE(domain_listed(list, "a.corp.example"));
  EXPECT_FALSE(domain_listed(list, "corp.example"));
}

struct TlsCase {
  const char* version;  // "" = no TLS
  const char* cipher;
  int bits;
  const char* reply;  // "" = meets the defaults
};

class TlsRules : public ::testing::TestWithParam<TlsCase> {};

TEST_P(TlsRules, DefaultRequirements) {
  const auto& c = GetParam();
  TlsFacts tls;
  if (*c.version != '\0') {
    tls.version = c.version;
  }
  tls.cipher = c.cipher;
  tls.bits = c.bits;
  const auto r = tls_violation(tls, TlsRequirements{});
  EXPECT_EQ(r ? r->code + " " + r->xcode + " " + r->text : "", c.reply);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TlsRules,
    ::testing::Values(
        TlsCase{"", "", 0, "550 5.7.0 TLS is required: use STARTTLS (SecureMail policy)"},
        TlsCase{"TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, ""},
        TlsCase{"TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", 256, ""},
        TlsCase{"TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", 256, ""},
        TlsCase{"TLSv1.2", "DHE-RSA-AES256-GCM-SHA384", 256, ""},
        TlsCase{"TLSv1.2", "AES256-GCM-SHA384", 256,
                "550 5.7.0 cipher AES256-GCM-SHA384 lacks forward secrecy (use ECDHE or DHE, or TLS 1.3) "
                "(SecureMail policy)"},
        TlsCase{"TLSv1.3", "TLS_AES_128_GCM_SHA256", 128,
                "550 5.7.0 cipher TLS_AES_128_GCM_SHA256 has 128 bits, below the required 256 (SecureMail policy)"},
        TlsCase{"TLSv1.1", "ECDHE-RSA-AES256-SHA", 256,
                "550 5.7.0 TLS protocol TLSv1.1 is below the required TLSv1.2 (SecureMail policy)"},
        TlsCase{"SSLv3", "ECDHE-RSA-AES256-SHA", 256,
                "550 5.7.0 TLS protocol SSLv3 is below the required TLSv1.2 (SecureMail policy)"},
        TlsCase{"TLSv9", "X", 256, "550 5.7.0 TLS protocol TLSv9 is below the required TLSv1.2 (SecureMail policy)"}));

TEST(AuthHeaders, ValuesCannotBreakTheSyntax) {
  EXPECT_EQ(quote_value("alice"), "alice");
  EXPECT_EQ(quote_value("mail.example.org"), "mail.example.org");
  EXPECT_EQ(quote_value(""), "\"\"");
  EXPECT_EQ(quote_value("a b"), "\"a b\"");
  EXPECT_EQ(quote_value("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quote_value("a..b"), "\"a..b\"");
  EXPECT_EQ(quote_value("x\r\ny"), "\"x??y\"");

  AuthFacts f;
  f.authserv_id = "mx.example.com";
  f.client = *core::IpAddress::parse("192.0.2.7");
  f.helo = "evil (helo";
  f.envelope_from = "we(ird)@example.org";
  f.mailfrom = spf::Outcome{spf::Result::permerror, "example.org", "bad \"record\"", 1, 0};
  const std::string rs = received_spf(f);
  EXPECT_NE(rs.find("SPF record for we?ird?@example.org)"), std::string::npos) << rs;
  EXPECT_NE(rs.find("helo=\"evil (helo\";"), std::string::npos) << rs;
  EXPECT_NE(rs.find("problem=\"bad \\\"record\\\"\";"), std::string::npos) << rs;
  const std::string ar = authentication_results(f);
  EXPECT_NE(ar.find("spf=permerror smtp.mailfrom=\"we(ird)\"@example.org reason=\"bad \\\"record\\\"\""),
            std::string::npos)
      << ar;
}

TEST(AuthHeaders, RecognisesOurAuthservId) {
  EXPECT_TRUE(is_ours(" mx.example.com; spf=pass", "mx.example.com"));
  EXPECT_TRUE(is_ours(" MX.Example.COM 1; spf=pass", "mx.example.com"));
  EXPECT_TRUE(is_ours("\n\tmx.example.com(comment); none", "mx.example.com"));
  EXPECT_FALSE(is_ours(" mx.example.com.evil; spf=pass", "mx.example.com"));
  EXPECT_FALSE(is_ours(" other.example; spf=pass", "mx.example.com"));
  EXPECT_FALSE(is_ours("", "mx.example.com"));
}

}  // namespace
}  // namespace postern::spf_milter
