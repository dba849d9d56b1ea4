// postern-policy with its real outside sources: the program's build_filter
// wires a config's ldap: section to common/ldap against a private slapd
// (tests/support/slapd.cpp, tests/data/ldap/directory.ldif) and keystore.root
// to a key store filled with TestPki certificates. Group conditions match
// members, a stopped directory tempfails the message (never "not a member"),
// and a restarted one answers again on the same filter; key_available
// follows what the store holds.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "postern/config/config.hpp"
#include "postern/keystore/key_store.hpp"
#include "postern/log/log.hpp"
#include "postern/policy/filter.hpp"
#include "postern/policy/filter_settings.hpp"
#include "postern/testing/milter_driver.hpp"
#include "postern/testing/slapd.hpp"
#include "postern/testing/test_pki.hpp"

namespace postern::policy {
namespace {

using milter::Status;
using postern::testing::Slapd;

bool require_all() {
  const char* v = std::getenv("POSTERN_REQUIRE_ALL");
  return v != nullptr && std::string(v) == "1";
}

constexpr const char* kRules = R"(groups:
  crypto-users: "cn=crypto-users,ou=groups,dc=example,dc=org"
rules:
  - name: crypto-users-get-a-mark
    when: {recipient_member_of: crypto-users}
    actions:
      - add_header: {name: X-Crypto-User, value: "yes"}
  - name: encrypt-when-a-certificate-exists
    when: {key_available: smime}
    actions:
      - add_header: {name: X-Has-Certificate, value: "yes"}
)";

class PolicyLookups : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init("postern-policy", log::Sink::none);
    char tmpl[] = "/tmp/postern-policy-lookup-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ / "rules.yaml") << kRules;
    std::ofstream(dir_ / "plan.key") << "0123456789abcdef0123456789abcdef-policy-lookup-test";
    ::chmod((dir_ / "plan.key").c_str(), 0600);
    std::filesystem::create_directories(dir_ / "store");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<const milter::Filter> filter(const std::string& ldap_uri) const {
    const std::string yaml = "policy: {rules: " + (dir_ / "rules.yaml").string() + "}\n" +
                             "plan: {secret_file: " + (dir_ / "plan.key").string() + "}\n" +
                             "keystore: {root: " + (dir_ / "store").string() + "}\n" +
                             "ldap:\n  uris: ['" + ldap_uri + "']\n  base_dn: 'dc=example,dc=org'\n" +
                             "  timeout: 2s\n  connect_timeout: 1s\n";
    return build_filter(std::make_shared<const config::Config>(config::load_string(filter_schema(), yaml,
                                                                                   "policy.yaml")));
  }

  static testing::MessageResult send(testing::MilterDriver& d, const std::string& rcpt) {
    testing::Envelope e;
    e.client_address = "198.51.100.7";
    e.sender = "<someone@outside.example>";
    e.recipients = {"<" + rcpt + ">"};
    e.macros = {{"i", "4QTEST1"}};
    d.open(e);
    auto r = d.message("From: someone@outside.example\r\nTo: " + rcpt + "\r\nSubject: hi\r\n\r\nbody\r\n");
    d.close();
    return r;
  }

  static bool has(const testing::MessageResult& r, const std::string& needle) {
    return std::any_of(r.transcript.begin(), r.transcript.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }

  std::filesystem::path dir_;
};

TEST_F(PolicyLookups, GroupConditionAsksTheRealDirectoryAndTempfailsWhileItIsDown) {
  if (const auto why = Slapd::unavailable(); !why.empty()) {
    if (require_all()) FAIL() << why << " (POSTERN_REQUIRE_ALL=1)";
    GTEST_SKIP() << why;
  }
  Slapd slapd;
  ASSERT_TRUE(slapd.started()) << slapd.why() << "\n" << slapd.log();
  auto f = filter(slapd.uri());

  // alice is in crypto-users, bob is not (directory.ldif).
  {
    testing::MilterDriver d(f);
    auto r = send(d, "alice@example.org");
    EXPECT_EQ(r.verdict.status, Status::proceed);
    EXPECT_TRUE(has(r, "X-Crypto-User")) << ::testing::PrintToString(r.transcript);
  }
  {
    testing::MilterDriver d(f);
    auto r = send(d, "bob@example.org");
    EXPECT_EQ(r.verdict.status, Status::proceed);
    EXPECT_FALSE(has(r, "X-Crypto-User")) << ::testing::PrintToString(r.transcript);
  }

  // Down: a recipient not yet cached cannot be judged, so the message waits.
  ASSERT_TRUE(slapd.stop());
  {
    testing::MilterDriver d(f);
    auto r = send(d, "carol@example.org");
    EXPECT_EQ(r.verdict.status, Status::tempfail) << ::testing::PrintToString(r.transcript);
    EXPECT_FALSE(has(r, "X-Crypto-User"));
  }

  // Back: the same filter (same pool) answers again.
  ASSERT_TRUE(slapd.restart()) << slapd.log();
  {
    testing::MilterDriver d(f);
    auto r = send(d, "carol@example.org");
    EXPECT_EQ(r.verdict.status, Status::proceed) << ::testing::PrintToString(r.transcript);
  }
}

TEST_F(PolicyLookups, WithoutDirectoryGroupConditionsTempfail) {
  // ldap.uris pointing nowhere: a refused connection is a failed lookup.
  auto f = filter("ldap://127.0.0.1:1");
  testing::MilterDriver d(f);
  auto r = send(d, "alice@example.org");
  EXPECT_EQ(r.verdict.status, Status::tempfail);
}

TEST_F(PolicyLookups, KeyAvailableFollowsTheKeyStore) {
  if (const auto why = Slapd::unavailable(); !why.empty()) {
    if (require_all()) FAIL() << why << " (POSTERN_REQUIRE_ALL=1)";
    GTEST_SKIP() << why;
  }
  Slapd slapd;
  ASSERT_TRUE(slapd.started()) << slapd.why();
  postern::testing::TestPki pki;
  auto bob = pki.issue({.common_name = "Bob", .emails = {"bob@example.org"}});
  {
    keystore::KeyStore store(dir_ / "store");
    store.create_layout();
    keystore::ImportOptions anchor;
    anchor.anchor = true;
    store.import_bytes(pki.root().pem(), anchor);
    store.import_bytes(pki.intermediate().pem(), {});
    store.import_bytes(bob.pem(), {});
  }
  auto f = filter(slapd.uri());
  {
    testing::MilterDriver d(f);
    auto r = send(d, "bob@example.org");
    EXPECT_EQ(r.verdict.status, Status::proceed);
    EXPECT_TRUE(has(r, "X-Has-Certificate")) << ::testing::PrintToString(r.transcript);
  }
  {
    testing::MilterDriver d(f);
    auto r = send(d, "carol@example.org");
    EXPECT_EQ(r.verdict.status, Status::proceed);
    EXPECT_FALSE(has(r, "X-Has-Certificate")) << ::testing::PrintToString(r.transcript);
  }
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

TEST_F(PolicyLookups, KeyAvailableSeesCertificatesOnlyTheDirectoryHolds) {
  if (const auto why = Slapd::unavailable(); !why.empty()) {
    if (require_all()) FAIL() << why << " (POSTERN_REQUIRE_ALL=1)";
    GTEST_SKIP() << why;
  }
  postern::testing::TestPki pki;
  auto erin = pki.issue({.common_name = "Erin", .emails = {"erin@partner.example"}});
  auto old = pki.issue({.common_name = "Old", .emails = {"old@partner.example"}, .not_before_days = -30,
                        .not_after_days = -1});
  {
    keystore::KeyStore store(dir_ / "store");
    store.create_layout();
    keystore::ImportOptions anchor;
    anchor.anchor = true;
    store.import_bytes(pki.root().pem(), anchor);
    store.import_bytes(pki.intermediate().pem(), {});
  }
  std::ofstream(dir_ / "people.ldif")
      << "dn: uid=ext-erin,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: ext-erin\ncn: Erin\n"
         "sn: Erin\nmail: erin@partner.example\nuserCertificate;binary:: "
      << base64(erin.der())
      << "\n\ndn: uid=ext-old,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: ext-old\ncn: Old\n"
         "sn: Old\nmail: old@partner.example\nuserCertificate;binary:: "
      << base64(old.der()) << "\n";
  postern::testing::SlapdOptions options;
  options.ldif_files = {std::string(POSTERN_SOURCE_DIR) + "/tests/data/ldap/directory.ldif",
                        (dir_ / "people.ldif").string()};
  Slapd slapd(options);
  ASSERT_TRUE(slapd.started()) << slapd.why() << "\n" << slapd.log();
  // Only key_available asks the directory here (no group condition).
  std::ofstream(dir_ / "rules.yaml", std::ios::trunc) << R"(rules:
  - name: encrypt-when-a-certificate-exists
    when: {key_available: smime}
    actions:
      - add_header: {name: X-Has-Certificate, value: "yes"}
)";
  auto f = filter(slapd.uri());
  {
    testing::MilterDriver d(f);
    auto r = send(d, "erin@partner.example");
    EXPECT_EQ(r.verdict.status, Status::proceed);
    EXPECT_TRUE(has(r, "X-Has-Certificate")) << ::testing::PrintToString(r.transcript);
  }
  {
    testing::MilterDriver d(f);
    auto r = send(d, "old@partner.example");  // expired: not usable
    EXPECT_EQ(r.verdict.status, Status::proceed);
    EXPECT_FALSE(has(r, "X-Has-Certificate")) << ::testing::PrintToString(r.transcript);
  }
  {
    testing::MilterDriver d(f);
    auto r = send(d, "nobody@partner.example");
    EXPECT_EQ(r.verdict.status, Status::proceed);
    EXPECT_FALSE(has(r, "X-Has-Certificate"));
  }
  // Down: the question cannot be answered (not "no"), so on_lookup_error (tempfail) applies.
  ASSERT_TRUE(slapd.stop());
  {
    testing::MilterDriver d(f);
    auto r = send(d, "someone@partner.example");
    EXPECT_EQ(r.verdict.status, Status::tempfail) << ::testing::PrintToString(r.transcript);
  }
}

}  // namespace
}  // namespace postern::policy
