// ossl/certificate: the questions the key store asks of a certificate.
#include "postern/ossl/certificate.hpp"

#include <gtest/gtest.h>

#include "postern/ossl/pem_der.hpp"
#include "postern/testing/test_pki.hpp"

namespace postern::ossl {
namespace {

using postern::testing::CertSpec;
using postern::testing::KeyType;
using postern::testing::TestPki;

TEST(CertificateEmails, SubjectAltNameThenSubjectEmailWithoutDuplicates) {
  TestPki pki;
  auto c = pki.issue({.emails = {"alice@example.org", "a.smith@example.org"}, .subject_email = "ALICE@example.org"});
  EXPECT_EQ(certificate_emails(c.cert.get()), (std::vector<std::string>{"alice@example.org", "a.smith@example.org"}));
  auto s = pki.issue({.subject_email = "bob@example.net"});
  EXPECT_EQ(certificate_emails(s.cert.get()), std::vector<std::string>{"bob@example.net"});
  EXPECT_TRUE(has_email(s.cert.get(), "Bob@EXAMPLE.net"));
  EXPECT_FALSE(has_email(s.cert.get(), "bob@example.org"));
}

TEST(CertificateEmails, NoneWithoutAddresses) {
  TestPki pki;
  EXPECT_TRUE(certificate_emails(pki.issue({}).cert.get()).empty());
}

TEST(KeyUsage, EncryptionDependsOnTheKeyType) {
  TestPki pki;
  auto rsa = pki.issue({.emails = {"a@x.org"}, .key = KeyType::rsa2048});
  auto ec = pki.issue({.emails = {"a@x.org"}});
  EXPECT_TRUE(key_usage_allows(rsa.cert.get(), Purpose::encrypt));
  EXPECT_TRUE(key_usage_allows(ec.cert.get(), Purpose::encrypt));
  auto ec_wrong = pki.issue({.emails = {"a@x.org"}, .key_usage = "critical,digitalSignature,keyEncipherment"});
  EXPECT_FALSE(key_usage_allows(ec_wrong.cert.get(), Purpose::encrypt));
  EXPECT_TRUE(key_usage_allows(ec_wrong.cert.get(), Purpose::sign));
  auto nr = pki.issue({.emails = {"a@x.org"}, .key_usage = "critical,nonRepudiation"});
  EXPECT_TRUE(key_usage_allows(nr.cert.get(), Purpose::sign));
  EXPECT_FALSE(key_usage_allows(nr.cert.get(), Purpose::encrypt));
}

TEST(KeyUsage, AbsentExtensionsAllowEverything) {
  TestPki pki;
  auto c = pki.issue({.emails = {"a@x.org"}, .key_usage = "", .ext_key_usage = ""});
  EXPECT_TRUE(key_usage_allows(c.cert.get(), Purpose::encrypt));
  EXPECT_TRUE(key_usage_allows(c.cert.get(), Purpose::sign));
}

TEST(KeyUsage, ExtendedKeyUsageMustIncludeEmailProtection) {
  TestPki pki;
  auto server = pki.issue({.emails = {"a@x.org"}, .ext_key_usage = "serverAuth"});
  EXPECT_FALSE(key_usage_allows(server.cert.get(), Purpose::sign));
  EXPECT_FALSE(key_usage_allows(server.cert.get(), Purpose::encrypt));
  auto both = pki.issue({.emails = {"a@x.org"}, .ext_key_usage = "serverAuth,emailProtection"});
  EXPECT_TRUE(key_usage_allows(both.cert.get(), Purpose::sign));
}

TEST(Fingerprint, IsSha256Hex) {
  TestPki pki;
  const auto fp = sha256_fingerprint(pki.root().cert.get());
  EXPECT_EQ(fp.size(), 64u);
  EXPECT_EQ(fp.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(fp, sha256_fingerprint(pki.intermediate().cert.get()));
}

TEST(Kinds, CaSelfSignedAndKeyMatch) {
  TestPki pki;
  auto c = pki.issue({.emails = {"a@x.org"}});
  EXPECT_TRUE(is_ca(pki.root().cert.get()));
  EXPECT_TRUE(is_self_signed(pki.root().cert.get()));
  EXPECT_TRUE(is_ca(pki.intermediate().cert.get()));
  EXPECT_FALSE(is_self_signed(pki.intermediate().cert.get()));
  EXPECT_FALSE(is_ca(c.cert.get()));
  EXPECT_TRUE(key_matches(c.cert.get(), c.key.get()));
  EXPECT_FALSE(key_matches(c.cert.get(), pki.root().key.get()));
}

TEST(Crls, PemAndDer) {
  TestPki pki;
  auto c = pki.issue({.emails = {"a@x.org"}});
  EXPECT_EQ(read_crls(pki.crl({&c})).size(), 1u);
  EXPECT_EQ(read_crls(pki.crl_der({&c})).size(), 1u);
  EXPECT_TRUE(read_crls(c.der()).empty());
  EXPECT_TRUE(read_crls("garbage").empty());
}

TEST(Pkcs12, PasswordFits) {
  TestPki pki;
  auto c = pki.issue({.emails = {"a@x.org"}});
  const auto p12 = c.pkcs12("right", pki.chain());
  EXPECT_TRUE(looks_like_pkcs12(p12));
  EXPECT_FALSE(looks_like_pkcs12(c.der()));
  EXPECT_TRUE(pkcs12_password_fits(p12, "right"));
  EXPECT_FALSE(pkcs12_password_fits(p12, "wrong"));
  EXPECT_FALSE(pkcs12_password_fits(p12, ""));
}

TEST(Times, ValidityWindow) {
  TestPki pki;
  auto c = pki.issue({.emails = {"a@x.org"}, .not_before_days = -10, .not_after_days = 20});
  const std::time_t now = std::time(nullptr);
  EXPECT_NEAR(static_cast<double>(not_before(c.cert.get())), static_cast<double>(now - 10 * 86400), 60.0);
  EXPECT_NEAR(static_cast<double>(not_after(c.cert.get())), static_cast<double>(now + 20 * 86400), 60.0);
  EXPECT_EQ(utc_text(0), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace postern::ossl
