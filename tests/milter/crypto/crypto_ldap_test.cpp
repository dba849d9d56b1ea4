// postern-crypto with its ldap: section against a private slapd
// (tests/support/slapd.cpp): recipients whose certificate is only in the
// directory (userCertificate;binary, or a certs-only userSMIMECertificate)
// get mail encrypted to it, driven through MilterDriver with real sealed
// plans; an expired or untrusted directory certificate leads to the plan's
// fallback with the reason logged; a stopped directory tempfails (never the
// bounce) for a recipient not cached, while a cached answer still serves.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "crypto_files.hpp"
#include "postern/config/config.hpp"
#include "postern/crypto/crypto_filter.hpp"
#include "postern/crypto/settings.hpp"
#include "postern/keystore/key_store.hpp"
#include "postern/log/log.hpp"
#include "postern/ossl/error.hpp"
#include "postern/plan/sealer.hpp"
#include "postern/smime/smime.hpp"
#include "postern/testing/milter_driver.hpp"
#include "postern/testing/slapd.hpp"
#include "postern/testing/test_pki.hpp"

namespace postern::crypto {
namespace {

namespace fs = std::filesystem;
using milter::Status;
using postern::testing::Slapd;

bool require_all() {
  const char* v = std::getenv("POSTERN_REQUIRE_ALL");
  return v != nullptr && std::string(v) == "1";
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string person(const std::string& uid, const std::string& mail, const std::string& attribute,
                   const std::string& der) {
  return "dn: uid=" + uid + ",ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: " + uid + "\ncn: " + uid +
         "\nsn: " + uid + "\nmail: " + mail + "\n" + attribute + ":: " + base64(der) + "\n\n";
}

struct Captured {
  std::mutex mu;
  std::vector<std::string> lines;
  static void add(log::Level, const std::string& line, void* user) {
    auto* self = static_cast<Captured*>(user);
    std::lock_guard lock(self->mu);
    self->lines.push_back(line);
  }
  bool has(const std::string& a, const std::string& b = "") {
    std::lock_guard lock(mu);
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.find(a) != std::string::npos && l.find(b) != std::string::npos;
    });
  }
  std::string all() {
    std::lock_guard lock(mu);
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
};

class CryptoLdap : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init("postern-crypto", log::Sink::none);
    log::set_capture(&Captured::add, &logs_);
    char tmpl[] = "/tmp/postern-crypto-ldap-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    files_.emplace(dir_, pki_);
    root_ = files_->store_root();
    // Of the other PKI only the root: heidi's certs-only blob must bring the intermediate.
    files_->import(other_.root().pem(), {.password = {}, .anchor = true, .source = "test"});
  }
  void TearDown() override {
    log::set_capture(nullptr, nullptr);
    fs::remove_all(dir_);
  }

  // Starts slapd with directory.ldif and the people of this test.
  std::unique_ptr<Slapd> start_directory() {
    std::string ldif = person("ext-erin", "erin@partner.example", "userCertificate;binary", erin_.der());
    ldif += person("ext-frank", "frank@partner.example", "userCertificate;binary", frank_.der());
    ldif += person("ext-grace", "grace@partner.example", "userCertificate;binary", grace_.der());
    ldif += person("ext-heidi", "heidi@partner.example", "userSMIMECertificate",
                   testing::certs_only_der({&heidi_, &other_.intermediate()}));
    testing::write_file(dir_ / "people.ldif", ldif);
    testing::SlapdOptions options;
    options.ldif_files = {std::string(POSTERN_SOURCE_DIR) + "/tests/data/ldap/directory.ldif",
                          (dir_ / "people.ldif").string()};
    return std::make_unique<Slapd>(options);
  }

  std::shared_ptr<const milter::Filter> filter(const std::string& uri) const {
    return files_->filter("ldap:\n  uris: ['" + uri + "']\n  base_dn: 'dc=example,dc=org'\n" +
                          "  timeout: 2s\n  connect_timeout: 1s\n");
  }

  testing::MessageResult send(const std::shared_ptr<const milter::Filter>& f, const std::string& rcpt,
                              plan::EncryptFallback fallback = plan::EncryptFallback::bounce) const {
    plan::Plan p;
    p.recipients = {"<" + rcpt + ">"};
    p.encrypt = plan::EncryptMethod::smime;
    p.fallback = fallback;
    const std::string sealed = files_->sealed(p);
    testing::Envelope e;
    e.sender = "<alice@example.org>";
    e.recipients = {"<" + rcpt + ">"};
    e.macros = {{"i", "4QLDAP1"}};
    testing::MilterDriver d(f);
    return d.run(e, "Received: from client by mx\r\nX-Postern-Plan: " + sealed +
                        "\r\nFrom: Alice <alice@example.org>\r\nTo: " + rcpt +
                        "\r\nSubject: Offerte\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                        "Die geheime Offerte.\r\n");
  }

  // Opens the replaced body with `who`'s key (common/smime, i.e. OpenSSL CMS).
  static std::string decrypt(const testing::MessageResult& r, const testing::Issued& who) {
    const std::string message =
        "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" +
        r.new_body;
    smime::Credential c;
    c.cert = ossl::share(who.cert.get());
    EVP_PKEY_up_ref(who.key.get());
    c.key = ossl::PkeyPtr(who.key.get());
    smime::Opened opened = smime::open_message(message, {.keys = {&c}});
    if (opened.status.failure != smime::Failure::none) return "failed: " + opened.status.detail;
    return opened.message;
  }

  static std::string transcript(const testing::MessageResult& r) { return ::testing::PrintToString(r.transcript); }

  static inline testing::TestPki pki_{"Postern LDAP Test"};
  static inline testing::TestPki foreign_{"Foreign CA"};
  static inline testing::TestPki other_{"Other CA"};
  static inline testing::Issued erin_ = pki_.issue({.common_name = "Erin", .emails = {"erin@partner.example"}});
  static inline testing::Issued frank_ = pki_.issue(
      {.common_name = "Frank", .emails = {"frank@partner.example"}, .not_before_days = -400, .not_after_days = -2});
  static inline testing::Issued grace_ =
      foreign_.issue({.common_name = "Grace", .emails = {"grace@partner.example"}});
  static inline testing::Issued heidi_ = other_.issue({.common_name = "Heidi", .emails = {"heidi@partner.example"}});
  Captured logs_;
  fs::path dir_, root_;
  std::optional<CryptoFiles> files_;
};

#define REQUIRE_SLAPD()                                                       \
  do {                                                                        \
    if (const auto why = Slapd::unavailable(); !why.empty()) {                \
      if (require_all()) FAIL() << why << " (POSTERN_REQUIRE_ALL=1)";         \
      GTEST_SKIP() << why;                                                    \
    }                                                                         \
  } while (false)

TEST_F(CryptoLdap, ARecipientWhoseCertificateIsOnlyInLdapGetsEncryptedMail) {
  REQUIRE_SLAPD();
  auto slapd = start_directory();
  ASSERT_TRUE(slapd->started()) << slapd->why() << "\n" << slapd->log();
  auto f = filter(slapd->uri());

  auto r = send(f, "erin@partner.example");
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict) << "\n" << logs_.all();
  ASSERT_TRUE(r.body_replaced) << transcript(r);
  EXPECT_EQ(r.new_body.find("geheime"), std::string::npos) << "plaintext in the encrypted body";
  EXPECT_NE(transcript(r).find("application/pkcs7-mime"), std::string::npos) << transcript(r);
  EXPECT_NE(decrypt(r, erin_).find("Die geheime Offerte."), std::string::npos) << decrypt(r, erin_);
  EXPECT_TRUE(logs_.has("certificate_found", "origin=ldap")) << logs_.all();
  // Not written to the store.
  keystore::KeyStore store(root_);
  for (const auto& e : store.list()) EXPECT_NE(e.fingerprint, erin_.fingerprint());

  // userSMIMECertificate: a certs-only blob that also brings the intermediate.
  auto h = send(f, "heidi@partner.example");
  ASSERT_EQ(h.verdict.status, Status::proceed) << testing::describe(h.verdict) << "\n" << logs_.all();
  ASSERT_TRUE(h.body_replaced);
  EXPECT_NE(decrypt(h, heidi_).find("Die geheime Offerte."), std::string::npos) << decrypt(h, heidi_);
}

TEST_F(CryptoLdap, ExpiredOrUntrustedLdapCertificatesLeadToTheFallbackWithTheReason) {
  REQUIRE_SLAPD();
  auto slapd = start_directory();
  ASSERT_TRUE(slapd->started()) << slapd->why() << "\n" << slapd->log();
  auto f = filter(slapd->uri());

  auto r = send(f, "frank@partner.example");
  ASSERT_EQ(r.verdict.status, Status::reject) << testing::describe(r.verdict);
  ASSERT_TRUE(r.verdict.reply);
  EXPECT_EQ(r.verdict.reply->code, "550");
  EXPECT_NE(r.verdict.reply->text.find("frank@partner.example"), std::string::npos);
  EXPECT_FALSE(r.body_replaced);
  EXPECT_TRUE(logs_.has("bounced", frank_.fingerprint().substr(0, 16) + " (ldap): expired")) << logs_.all();

  auto g = send(f, "grace@partner.example", plan::EncryptFallback::hold);
  ASSERT_EQ(g.verdict.status, Status::proceed) << testing::describe(g.verdict);
  EXPECT_NE(transcript(g).find("quarantine"), std::string::npos) << transcript(g);
  EXPECT_FALSE(g.body_replaced);
  EXPECT_TRUE(logs_.has("held", grace_.fingerprint().substr(0, 16) + " (ldap): no chain to a trust anchor"))
      << logs_.all();
}

TEST_F(CryptoLdap, AStoppedDirectoryTempfailsInsteadOfBouncing) {
  REQUIRE_SLAPD();
  auto slapd = start_directory();
  ASSERT_TRUE(slapd->started()) << slapd->why() << "\n" << slapd->log();
  auto f = filter(slapd->uri());
  // erin's answer is cached (ldap.cache.positive_ttl, 5 minutes by default).
  ASSERT_EQ(send(f, "erin@partner.example").verdict.status, Status::proceed) << logs_.all();

  ASSERT_TRUE(slapd->stop());
  auto r = send(f, "heidi@partner.example");
  ASSERT_EQ(r.verdict.status, Status::tempfail) << testing::describe(r.verdict);
  ASSERT_TRUE(r.verdict.reply);
  EXPECT_EQ(r.verdict.reply->code, "451");
  EXPECT_EQ(r.verdict.reply->xcode, "4.7.0");
  EXPECT_FALSE(r.body_replaced);
  EXPECT_TRUE(logs_.has("ldap_lookup_failed", "heidi@partner.example")) << logs_.all();
  EXPECT_FALSE(logs_.has("bounced")) << logs_.all();

  auto cached = send(f, "erin@partner.example");
  EXPECT_EQ(cached.verdict.status, Status::proceed) << testing::describe(cached.verdict);
  EXPECT_TRUE(cached.body_replaced);

  // Back: the same filter answers again.
  ASSERT_TRUE(slapd->restart()) << slapd->log();
  auto back = send(f, "heidi@partner.example");
  EXPECT_EQ(back.verdict.status, Status::proceed) << testing::describe(back.verdict) << "\n" << logs_.all();
  EXPECT_TRUE(back.body_replaced);
}

TEST_F(CryptoLdap, WithoutAnLdapSectionNothingIsAsked) {
  // No slapd needed: a recipient with no stored certificate is bounced as before.
  auto f = files_->filter();
  auto r = send(f, "erin@partner.example");
  EXPECT_EQ(r.verdict.status, Status::reject) << testing::describe(r.verdict);
  EXPECT_TRUE(logs_.has("bounced", "no certificate for the address")) << logs_.all();
}

}  // namespace
}  // namespace postern::crypto
