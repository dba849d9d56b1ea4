// KeyStore::import_bytes: PEM, DER, PKCS#12 (right and wrong password),
// encrypted keys, CA certificates, CRLs, refusals.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store_fixture.hpp"

namespace postern::keystore::testing {
namespace {

using ::testing::HasSubstr;

std::string import_error(KeyStore& store, const std::string& bytes, const ImportOptions& options = {}) {
  try {
    store.import_bytes(bytes, options);
  } catch (const ImportError& e) {
    return e.what();
  }
  return "accepted";
}

TEST_F(StoreTest, ImportsADerCertificate) {
  auto bob = pki.issue({.emails = {"bob@example.net"}, .key = KeyType::rsa3072});
  auto r = store.import_bytes(bob.der(), {.source = "bob.der"});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].shelf, Shelf::certs);
  EXPECT_EQ(r[0].fingerprint, bob.fingerprint());
  EXPECT_FALSE(r[0].already_present);
  EXPECT_THAT(slurp(store.root() / "certs" / (bob.fingerprint() + ".meta")), HasSubstr("source: bob.der\n"));
  EXPECT_TRUE(store.import_bytes(bob.pem(), {})[0].already_present);
  EXPECT_TRUE(store.select_encryption_certificate("bob@example.net").best);
}

TEST_F(StoreTest, ImportsAPkcs12WithTheRightPassword) {
  auto alice = pki.issue({.emails = {"alice@example.org"}});
  const auto p12 = alice.pkcs12("s3cret pass", pki.chain());
  auto r = store.import_bytes(p12, {.password = "s3cret pass"});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].shelf, Shelf::private_keys);
  EXPECT_EQ(r[0].fingerprint, alice.fingerprint());
  // The chain: the intermediate is already there; the root is not trusted by import.
  for (std::size_t i = 1; i < r.size(); ++i) {
    if (r[i].fingerprint == pki.root().fingerprint()) {
      EXPECT_TRUE(r[i].skipped);
      EXPECT_THAT(r[i].note, HasSubstr("--anchor"));
    } else {
      EXPECT_EQ(r[i].shelf, Shelf::intermediates);
      EXPECT_TRUE(r[i].already_present);
    }
  }
  auto s = store.select_signing_identity("alice@example.org");
  ASSERT_TRUE(s.best) << s.why_none();
  EXPECT_EQ(s.best->fingerprint, alice.fingerprint());
}

TEST_F(StoreTest, RefusesAPkcs12WithAWrongOrMissingPassword) {
  auto alice = pki.issue({.emails = {"alice@example.org"}});
  const auto p12 = alice.pkcs12("right", {});
  EXPECT_EQ(import_error(store, p12, {.password = "wrong"}), "wrong password for the PKCS#12 file");
  EXPECT_THAT(import_error(store, p12), HasSubstr("needs its password"));
  EXPECT_FALSE(std::filesystem::exists(store.root() / "private" / (alice.fingerprint() + ".key")));
}

TEST_F(StoreTest, ImportsAnEncryptedPemKeyWithItsPassword) {
  auto alice = pki.issue({.emails = {"alice@example.org"}, .key = KeyType::rsa2048});
  const auto pem = alice.pem() + alice.key_pem("pw");
  EXPECT_THAT(import_error(store, pem), HasSubstr("--password-file"));
  EXPECT_THAT(import_error(store, pem, {.password = "nope"}), HasSubstr("wrong password"));
  auto r = store.import_bytes(pem, {.password = "pw"});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].shelf, Shelf::private_keys);
  // Stored unencrypted, mode 0600: the service reads it without a password.
  EXPECT_THAT(slurp(store.root() / "private" / (alice.fingerprint() + ".key")), HasSubstr("BEGIN PRIVATE KEY"));
  EXPECT_TRUE(store.select_signing_identity("alice@example.org").best);
}

TEST_F(StoreTest, RefusesAKeyThatFitsNoCertificate) {
  auto alice = pki.issue({.emails = {"alice@example.org"}});
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  EXPECT_THAT(import_error(store, bob.key_pem() + alice.pem()), HasSubstr("fits none of the certificates"));
}

TEST_F(StoreTest, RefusesWhatIsNoCertificate) {
  EXPECT_THAT(import_error(store, "hello"), HasSubstr("not a certificate, CRL, or PKCS#12"));
  EXPECT_THAT(import_error(store, "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"),
              HasSubstr("malformed"));
  EXPECT_THAT(import_error(store, ""), HasSubstr("not a certificate"));
}

TEST_F(StoreTest, AnchorsOnlyOnRequestAndOnlySelfSignedCas) {
  TestPki other("Elsewhere");
  auto r = store.import_bytes(other.root().pem(), {});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].skipped);
  EXPECT_FALSE(std::filesystem::exists(store.root() / "anchors" / (other.root().fingerprint() + ".pem")));
  EXPECT_THAT(import_error(store, other.intermediate().pem(), {.anchor = true}), HasSubstr("not a self-signed CA"));
  auto leaf = other.issue({.emails = {"x@elsewhere.org"}});
  EXPECT_THAT(import_error(store, leaf.pem(), {.anchor = true}), HasSubstr("not a self-signed CA"));
  // All or nothing: the root is not trusted when the file also holds a leaf.
  EXPECT_THAT(import_error(store, other.root().pem() + leaf.pem(), {.anchor = true}),
              HasSubstr("not a self-signed CA"));
  EXPECT_FALSE(std::filesystem::exists(store.root() / "anchors" / (other.root().fingerprint() + ".pem")));
  EXPECT_EQ(store.import_bytes(other.root().pem(), {.anchor = true})[0].shelf, Shelf::anchors);
  store.import_bytes(other.intermediate().pem() + leaf.pem(), {});
  EXPECT_TRUE(store.select_encryption_certificate("x@elsewhere.org").best);
}

TEST_F(StoreTest, ImportsCrlsPemAndDer) {
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  add_other(bob);
  auto r = store.import_bytes(pki.crl_der({&bob}), {});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].crl);
  EXPECT_THAT(r[0].subject, HasSubstr("Intermediate CA"));
  EXPECT_FALSE(store.select_encryption_certificate("bob@example.net").best);
}

TEST_F(StoreTest, RemoveByFingerprintPrefixOrAddress) {
  auto alice = pki.issue({.emails = {"alice@example.org"}});
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  add_own(alice);
  add_other(bob);
  EXPECT_THROW(store.remove("abc"), ImportError);
  auto gone = store.remove(alice.fingerprint().substr(0, 12));
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].shelf, Shelf::private_keys);
  EXPECT_FALSE(std::filesystem::exists(store.root() / "private" / (alice.fingerprint() + ".key")));
  EXPECT_FALSE(std::filesystem::exists(store.root() / "private" / (alice.fingerprint() + ".pem")));
  EXPECT_EQ(store.remove("BOB@example.net").size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(store.root() / "certs" / (bob.fingerprint() + ".meta")));
  EXPECT_TRUE(store.remove("bob@example.net").empty());
}

}  // namespace
}  // namespace postern::keystore::testing
