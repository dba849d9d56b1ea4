#include "postern/incamail/settings.hpp"

#include <gtest/gtest.h>

#include "postern/config/config.hpp"
#include "postern/core/error.hpp"

namespace postern::incamail {
namespace {

Settings load(std::string_view yaml) {
  return Settings::from(config::load_string(schema(), yaml, "incamail.yaml"));
}

// Every diagnostic of a refused configuration, one per line.
std::string problems(std::string_view yaml) {
  try {
    load(yaml);
  } catch (const core::ConfigError& e) {
    std::string out;
    for (const auto& d : e.diagnostics()) out += d.to_string() + "\n";
    return out;
  }
  return "accepted";
}

TEST(Settings, DefaultsAreUsable) {
  Settings s = Settings::from(config::defaults(schema()));
  ASSERT_EQ(s.internal_networks.size(), 2u);
  EXPECT_TRUE(s.internal_networks[0].contains(*core::IpAddress::parse("127.0.0.1")));
  EXPECT_TRUE(s.internal_networks[1].contains(*core::IpAddress::parse("::1")));
  EXPECT_TRUE(s.internal_listeners.empty());
  EXPECT_TRUE(s.authenticated_is_internal);
  EXPECT_TRUE(s.internal_domains.empty());
  EXPECT_EQ(s.tags.position, TagPosition::anywhere);
  EXPECT_FALSE(s.tags.case_sensitive);
  EXPECT_EQ(s.on_bad_tag, Settings::OnBadTag::reject);
  EXPECT_EQ(s.untagged_incamail_recipient, Settings::Untagged::tag_confidential);
  EXPECT_EQ(s.max_size, 30u * 1024 * 1024);
  EXPECT_EQ(s.registered_max_size, 10u * 1024 * 1024);
  EXPECT_EQ(s.on_registered_too_large, Settings::OnRegisteredTooLarge::warn);
  EXPECT_TRUE(s.cert_subjects.empty());
  EXPECT_TRUE(s.cert_issuers.empty());
  EXPECT_TRUE(s.lookalike_domains.matches("im.post.ch"));
  EXPECT_TRUE(s.lookalike_domains.matches("mx.im.post.ch"));
  EXPECT_TRUE(s.lookalike_domains.matches("incamail.ch"));
  EXPECT_TRUE(s.lookalike_domains.matches("a.incamail.ch"));
  EXPECT_FALSE(s.lookalike_domains.matches("post.ch"));
  EXPECT_EQ(s.lookalike_subject_marks, std::vector<std::string>{"(Secured by IncaMail)"});
  EXPECT_EQ(s.on_unverified, Settings::OnUnverified::tag);
  EXPECT_EQ(s.unverified_tag, "[IncaMail unverified]");
}

TEST(Settings, ReadsEveryChoice) {
  Settings s = load(
      "internal: {networks: [10.0.0.0/8], listeners: [submission], authenticated: false, domains: [example.ch]}\n"
      "outbound: {tag_position: prefix, tag_case_sensitive: true, on_bad_tag: confidential,\n"
      "           untagged_incamail_recipient: keep, max_size: 20M, registered_max_size: 5M,\n"
      "           on_registered_too_large: reject}\n"
      "inbound: {cert_subjects: [mx.incamail.ch], cert_issuers: [Test CA], lookalike_domains: [x.example],\n"
      "          lookalike_subject_marks: [secured], on_unverified: reject, unverified_tag: '[?]'}\n");
  EXPECT_EQ(s.internal_listeners, std::vector<std::string>{"submission"});
  EXPECT_FALSE(s.authenticated_is_internal);
  EXPECT_TRUE(s.internal_domains.matches("example.ch"));
  EXPECT_EQ(s.tags.position, TagPosition::prefix);
  EXPECT_TRUE(s.tags.case_sensitive);
  EXPECT_EQ(s.on_bad_tag, Settings::OnBadTag::confidential);
  EXPECT_EQ(s.untagged_incamail_recipient, Settings::Untagged::keep);
  EXPECT_EQ(s.max_size, 20u * 1024 * 1024);
  EXPECT_EQ(s.registered_max_size, 5u * 1024 * 1024);
  EXPECT_EQ(s.on_registered_too_large, Settings::OnRegisteredTooLarge::reject);
  EXPECT_EQ(s.cert_subjects, std::vector<std::string>{"mx.incamail.ch"});
  EXPECT_EQ(s.cert_issuers, std::vector<std::string>{"Test CA"});
  EXPECT_TRUE(s.lookalike_domains.matches("x.example"));
  EXPECT_EQ(s.on_unverified, Settings::OnUnverified::reject);
  EXPECT_EQ(s.unverified_tag, "[?]");
}

struct BadCase {
  const char* name;
  const char* yaml;
  const char* problem;  // the exact diagnostics
};

class SettingsRefusal : public ::testing::TestWithParam<BadCase> {};

TEST_P(SettingsRefusal, SaysWhereAndWhy) { EXPECT_EQ(problems(GetParam().yaml), GetParam().problem); }

INSTANTIATE_TEST_SUITE_P(
    Configs, SettingsRefusal,
    ::testing::Values(
        BadCase{"subjects_without_issuers", "inbound:\n  cert_subjects: [mx.incamail.ch]\n",
                "incamail.yaml:2:18: inbound.cert_issuers must be set together with inbound.cert_subjects: mail is "
                "verified only when both the certificate and its issuer match\n"},
        BadCase{"issuers_without_subjects", "inbound:\n  cert_issuers: [CA]\n",
                "incamail.yaml:2:17: inbound.cert_subjects must be set together with inbound.cert_issuers: mail is "
                "verified only when both the certificate and its issuer match\n"},
        BadCase{"bad_internal_domain", "internal:\n  domains: [example.com, 'bad domain']\n",
                "incamail.yaml:2:12: 'bad domain' is not a domain name (write example.com or .example.com)\n"},
        BadCase{"literal_lookalike_domain", "inbound:\n  lookalike_domains: ['[192.0.2.1]']\n",
                "incamail.yaml:2:22: '[192.0.2.1]' is not a domain name (write example.com or .example.com)\n"},
        BadCase{"empty_subject_mark", "inbound:\n  lookalike_subject_marks: ['']\n",
                "incamail.yaml:2:28: inbound.lookalike_subject_marks: an empty mark would match every subject\n"},
        BadCase{"non_ascii_unverified_tag", "inbound:\n  unverified_tag: \"[unverifiziert \\xe4]\"\n",
                "incamail.yaml:2:19: inbound.unverified_tag must be printable ASCII and not empty: it is written "
                "into the Subject as it is\n"},
        BadCase{"empty_unverified_tag", "inbound:\n  unverified_tag: ''\n",
                "incamail.yaml:2:19: inbound.unverified_tag must be printable ASCII and not empty: it is written "
                "into the Subject as it is\n"},
        BadCase{"all_problems_at_once",
                "internal: {domains: ['a b']}\ninbound: {cert_issuers: [CA], unverified_tag: ''}\n",
                "incamail.yaml:1:21: 'a b' is not a domain name (write example.com or .example.com)\n"
                "incamail.yaml:2:25: inbound.cert_subjects must be set together with inbound.cert_issuers: mail is "
                "verified only when both the certificate and its issuer match\n"
                "incamail.yaml:2:47: inbound.unverified_tag must be printable ASCII and not empty: it is written "
                "into the Subject as it is\n"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Settings, SchemaRefusesUnknownChoices) {
  // The schema, not Settings, refuses a value outside the choices.
  EXPECT_THROW(config::load_string(schema(), "outbound:\n  on_bad_tag: guess\n", "incamail.yaml"), core::ConfigError);
}

TEST(Settings, PackagedConfigurationIsValid) {
  const std::string path = std::string(POSTERN_SOURCE_DIR) + "/packaging/config/incamail.yaml";
  Settings s = Settings::from(config::load_file(schema(), path));
  EXPECT_EQ(s.on_bad_tag, Settings::OnBadTag::reject);
  EXPECT_EQ(s.max_size, 30u * 1024 * 1024);
}

}  // namespace
}  // namespace postern::incamail
