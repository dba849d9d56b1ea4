// KeyStore with an external certificate source (what postern-crypto wires
// to LDAP): a fake source in process; the real slapd path is in
// tests/milter/crypto/crypto_ldap_test.cpp. The source's certificates are
// judged by the store's rules, named as theirs, never written, asked only
// when the store has nothing usable; a failing source is not "none".

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "store_fixture.hpp"

namespace postern::keystore::testing {
namespace {

using lookup::KeyKind;
using lookup::Lookup;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class ExternalTest : public StoreTest {
 protected:
  // The fake directory: `values` for `address`, none for others, or a failure.
  void serve(std::string address, std::vector<std::string> values) {
    store.set_external_source({"ldap", [this, address, values](std::string_view a) {
                                 ++asked;
                                 if (failing) return Lookup<std::vector<std::string>>::failure("ldap: server down");
                                 return Lookup<std::vector<std::string>>::answer(
                                     a == address ? values : std::vector<std::string>{});
                               }});
  }
  static std::string only_reason_of(const Selection<EncryptionCertificate>& s) {
    EXPECT_EQ(s.rejected.size(), 1u) << s.why_none();
    return s.rejected.empty() ? "" : s.rejected.front().reason;
  }
  std::atomic<int> asked{0};
  bool failing = false;
};

TEST_F(ExternalTest, ACertificateOnlyTheSourceHoldsIsUsedAndNotStored) {
  auto carol = pki.issue({.emails = {"carol@partner.example"}});
  serve("carol@partner.example", {carol.der()});
  const auto before = store.list().size();
  auto s = store.select_encryption_certificate("carol@partner.example");
  ASSERT_TRUE(s.best) << s.why_none();
  EXPECT_EQ(s.best->fingerprint, carol.fingerprint());
  EXPECT_EQ(s.best->origin, "ldap");
  EXPECT_TRUE(s.lookup_error.empty());
  EXPECT_EQ(store.list().size(), before) << "an LDAP answer was written to the store";
  const lookup::KeyFinder& keys = store;
  auto r = keys.has_usable_key("carol@partner.example", KeyKind::smime_encrypt);
  ASSERT_FALSE(r.failed()) << r.error;
  EXPECT_TRUE(*r.value);
  auto nobody = keys.has_usable_key("nobody@partner.example", KeyKind::smime_encrypt);
  ASSERT_FALSE(nobody.failed());
  EXPECT_FALSE(*nobody.value);
  // Never a signing identity, and the source is not asked for one.
  const int n = asked.load();
  EXPECT_FALSE(store.select_signing_identity("carol@partner.example").best);
  EXPECT_EQ(asked.load(), n);
}

TEST_F(ExternalTest, ExpiredUntrustedRevokedAndForeignCertificatesAreRejectedNamingTheSource) {
  TestPki foreign("Foreign CA");
  auto expired = pki.issue({.emails = {"carol@partner.example"}, .not_before_days = -400, .not_after_days = -3});
  auto untrusted = foreign.issue({.emails = {"carol@partner.example"}});
  auto revoked = pki.issue({.emails = {"carol@partner.example"}});
  auto signing_only = pki.issue({.emails = {"carol@partner.example"}, .key_usage = "digitalSignature"});
  auto someone_else = pki.issue({.emails = {"dave@partner.example"}});
  store.import_bytes(pki.crl({&revoked}), {});
  serve("carol@partner.example",
        {expired.der(), untrusted.der(), revoked.der(), signing_only.der(), someone_else.der(), "garbage"});
  auto s = store.select_encryption_certificate("carol@partner.example");
  EXPECT_FALSE(s.best);
  EXPECT_TRUE(s.lookup_error.empty());
  ASSERT_EQ(s.rejected.size(), 6u) << s.why_none();
  std::map<std::string, std::string> why;
  for (const auto& r : s.rejected) {
    EXPECT_EQ(r.origin, "ldap");
    why[r.fingerprint] = r.reason;
  }
  EXPECT_EQ(why[expired.fingerprint()], "expired");
  EXPECT_THAT(why[untrusted.fingerprint()], StartsWith("no chain to a trust anchor"));
  EXPECT_EQ(why[revoked.fingerprint()], "revoked");
  EXPECT_EQ(why[signing_only.fingerprint()], "wrong key usage");
  EXPECT_EQ(why[someone_else.fingerprint()], "not issued to the address");
  EXPECT_EQ(why[""], "unreadable certificate data");
  EXPECT_THAT(s.why_none(), HasSubstr(expired.fingerprint().substr(0, 16) + " (ldap): expired"));
  const lookup::KeyFinder& keys = store;
  auto r = keys.has_usable_key("carol@partner.example", KeyKind::smime_encrypt);
  ASSERT_FALSE(r.failed()) << r.error;
  EXPECT_FALSE(*r.value);
}

TEST_F(ExternalTest, AStoredUsableCertificateIsPreferredAndTheSourceNotAsked) {
  auto stored = pki.issue({.emails = {"carol@partner.example"}, .not_before_days = -10});
  auto newer = pki.issue({.emails = {"carol@partner.example"}, .not_before_days = -1});
  add_other(stored);
  serve("carol@partner.example", {newer.der()});
  auto s = store.select_encryption_certificate("carol@partner.example");
  ASSERT_TRUE(s.best);
  EXPECT_EQ(s.best->fingerprint, stored.fingerprint());
  EXPECT_EQ(s.best->origin, "");
  const lookup::KeyFinder& keys = store;
  EXPECT_TRUE(keys.has_usable_key("carol@partner.example", KeyKind::smime_encrypt).value.value_or(false));
  EXPECT_EQ(asked.load(), 0);
}

TEST_F(ExternalTest, AnUnusableStoredCertificateLetsTheSourceAnswer) {
  auto old = pki.issue({.emails = {"carol@partner.example"}, .not_before_days = -400, .not_after_days = -3});
  auto fresh = pki.issue({.emails = {"carol@partner.example"}});
  add_other(old);
  serve("carol@partner.example", {old.der(), fresh.der()});
  auto s = store.select_encryption_certificate("carol@partner.example");
  ASSERT_TRUE(s.best) << s.why_none();
  EXPECT_EQ(s.best->fingerprint, fresh.fingerprint());
  EXPECT_EQ(s.best->origin, "ldap");
  // The stored one is rejected once, as the store's.
  ASSERT_EQ(s.rejected.size(), 1u);
  EXPECT_EQ(s.rejected[0].origin, "");
  EXPECT_EQ(s.rejected[0].reason, "expired");
}

TEST_F(ExternalTest, ACertsOnlyBlobBringsItsOwnIntermediate) {
  TestPki other("Other CA");
  store.import_bytes(other.root().pem(), {.anchor = true});  // the root only, no intermediate
  auto carol = other.issue({.emails = {"carol@partner.example"}});
  serve("carol@partner.example", {carol.der()});
  auto alone = store.select_encryption_certificate("carol@partner.example");
  EXPECT_FALSE(alone.best);
  EXPECT_THAT(only_reason_of(alone), StartsWith("no chain to a trust anchor"));

  serve("carol@partner.example", {certs_only_der({&other.intermediate(), &carol})});
  auto s = store.select_encryption_certificate("carol@partner.example");
  ASSERT_TRUE(s.best) << s.why_none();
  EXPECT_EQ(s.best->fingerprint, carol.fingerprint());
  EXPECT_EQ(s.best->origin, "ldap");
}

TEST_F(ExternalTest, AFailingSourceIsAFailureNotNone) {
  failing = true;
  serve("carol@partner.example", {});
  auto s = store.select_encryption_certificate("carol@partner.example");
  EXPECT_FALSE(s.best);
  EXPECT_EQ(s.lookup_error, "ldap: server down");
  EXPECT_THAT(s.why_none(), HasSubstr("lookup failed: ldap: server down"));
  const lookup::KeyFinder& keys = store;
  auto r = keys.has_usable_key("carol@partner.example", KeyKind::smime_encrypt);
  EXPECT_TRUE(r.failed());
  EXPECT_EQ(r.error, "ldap: server down");
  // A stored usable certificate needs no source.
  auto bob = pki.issue({.emails = {"bob@partner.example"}});
  add_other(bob);
  EXPECT_TRUE(store.select_encryption_certificate("bob@partner.example").best);
  EXPECT_TRUE(keys.has_usable_key("bob@partner.example", KeyKind::smime_encrypt).value.value_or(false));
}

}  // namespace
}  // namespace postern::keystore::testing
