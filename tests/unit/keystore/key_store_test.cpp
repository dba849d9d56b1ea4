// KeyStore: selection rules, best of several, CRLs, layout and
// permissions, harvest, the verification store, KeyFinder answers.
#include "postern/keystore/key_store.hpp"

#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "postern/ossl/certificate.hpp"
#include "store_fixture.hpp"

namespace postern::keystore::testing {
namespace {

using lookup::KeyKind;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string only_reason(const std::vector<Rejection>& rejected) {
  EXPECT_EQ(rejected.size(), 1u);
  return rejected.empty() ? "" : rejected.front().reason;
}

TEST_F(StoreTest, FindsAnEncryptionCertificateBySubjectAltName) {
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  add_other(bob);
  auto s = store.select_encryption_certificate("bob@example.net");
  ASSERT_TRUE(s.best) << s.why_none();
  EXPECT_EQ(s.best->fingerprint, bob.fingerprint());
  EXPECT_TRUE(s.rejected.empty());
  EXPECT_TRUE(store.select_encryption_certificate("BOB@Example.NET").best);
  auto none = store.select_encryption_certificate("carol@example.net");
  EXPECT_FALSE(none.best);
  EXPECT_EQ(none.why_none(), "no certificate for the address");
}

TEST_F(StoreTest, FindsACertificateByTheSubjectEmailAddressAlone) {
  auto bob = pki.issue({.subject_email = "bob@example.net"});
  add_other(bob);
  EXPECT_TRUE(store.select_encryption_certificate("bob@example.net").best);
}

struct ReasonCase {
  const char* label;
  CertSpec spec;
  const char* reason;
};

class Reasons : public StoreTest, public ::testing::WithParamInterface<ReasonCase> {};

TEST_P(Reasons, EachUnusableCandidateSaysWhy) {
  CertSpec spec = GetParam().spec;
  spec.emails = {"bob@example.net"};
  add_other(pki.issue(spec));
  auto s = store.select_encryption_certificate("bob@example.net");
  EXPECT_FALSE(s.best);
  EXPECT_THAT(only_reason(s.rejected), StartsWith(GetParam().reason));
  EXPECT_THAT(s.why_none(), HasSubstr(GetParam().reason));
}

INSTANTIATE_TEST_SUITE_P(
    Selection, Reasons,
    ::testing::Values(ReasonCase{"expired", {.not_before_days = -400, .not_after_days = -1}, "expired"},
                      ReasonCase{"not_yet_valid", {.not_before_days = 2, .not_after_days = 400}, "not yet valid"},
                      ReasonCase{"rsa_without_key_encipherment",
                                 {.key = KeyType::rsa2048, .key_usage = "critical,digitalSignature"},
                                 "wrong key usage"},
                      ReasonCase{"ec_without_key_agreement",
                                 {.key_usage = "critical,digitalSignature,keyEncipherment"},
                                 "wrong key usage"},
                      ReasonCase{"eku_server_only", {.ext_key_usage = "serverAuth"}, "wrong key usage"}),
    [](const ::testing::TestParamInfo<ReasonCase>& p) { return std::string(p.param.label); });

TEST_F(StoreTest, ACertificateOfAnUntrustedCaHasNoChain) {
  TestPki other("Elsewhere");
  add_other(other.issue({.emails = {"bob@example.net"}}));
  auto s = store.select_encryption_certificate("bob@example.net");
  EXPECT_FALSE(s.best);
  EXPECT_THAT(only_reason(s.rejected), HasSubstr("no chain to a trust anchor"));
}

TEST_F(StoreTest, AnIntermediateAloneIsNoTrustAnchor) {
  TestPki other("Elsewhere");
  store.import_bytes(other.intermediate().pem(), {});  // its root is not imported
  add_other(other.issue({.emails = {"bob@example.net"}}));
  EXPECT_THAT(only_reason(store.select_encryption_certificate("bob@example.net").rejected),
              HasSubstr("no chain to a trust anchor"));
}

TEST_F(StoreTest, ACertificateListedInAStoredCrlIsRevoked) {
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  auto other = pki.issue({.emails = {"other@example.net"}});
  add_other(bob);
  EXPECT_TRUE(store.select_encryption_certificate("bob@example.net").best);
  store.import_bytes(pki.crl({&bob}), {});
  auto s = store.select_encryption_certificate("bob@example.net");
  EXPECT_FALSE(s.best);
  EXPECT_EQ(only_reason(s.rejected), "revoked");
  add_other(other);
  EXPECT_TRUE(store.select_encryption_certificate("other@example.net").best);
}

TEST_F(StoreTest, ADerCrlOfTheRootRevokesTheIntermediate) {
  add_other(pki.issue({.emails = {"bob@example.net"}}));
  store.import_bytes(pki.crl_der({&pki.intermediate()}, true), {});
  EXPECT_THAT(only_reason(store.select_encryption_certificate("bob@example.net").rejected),
              StartsWith("revoked (issuer "));
}

TEST_F(StoreTest, ACrlFromAnotherKeyWithTheSameIssuerNameProvesNothing) {
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  add_other(bob);
  TestPki forger;  // same names, other keys; serial 3 is bob's serial there too
  auto victim = forger.issue({.emails = {"x@example.net"}});
  ASSERT_EQ(ossl::serial_text(victim.cert.get()), ossl::serial_text(bob.cert.get()));
  store.import_bytes(forger.crl({&victim}), {});
  EXPECT_TRUE(store.select_encryption_certificate("bob@example.net").best);
}

TEST_F(StoreTest, TheBestOfSeveralIsTheNewestUsable) {
  auto old = pki.issue({.emails = {"bob@example.net"}, .not_before_days = -30});
  auto newest = pki.issue({.emails = {"bob@example.net"}, .not_before_days = -2});
  auto expired = pki.issue({.emails = {"bob@example.net"}, .not_before_days = -100, .not_after_days = -1});
  auto revoked = pki.issue({.emails = {"bob@example.net"}, .not_before_days = -1});
  for (const auto* c : {&old, &newest, &expired, &revoked}) add_other(*c);
  store.import_bytes(pki.crl({&revoked}), {});
  auto s = store.select_encryption_certificate("bob@example.net");
  ASSERT_TRUE(s.best);
  EXPECT_EQ(s.best->fingerprint, newest.fingerprint());
  ASSERT_EQ(s.rejected.size(), 2u);
  for (const auto& r : s.rejected) {
    if (r.fingerprint == expired.fingerprint())
      EXPECT_EQ(r.reason, "expired");
    else
      EXPECT_EQ(r.reason, "revoked");
  }
  store.remove(newest.fingerprint());
  EXPECT_EQ(store.select_encryption_certificate("bob@example.net").best->fingerprint, old.fingerprint());
}

TEST_F(StoreTest, OurOwnCertificatesCanBeEncryptedTo) {
  auto alice = pki.issue({.emails = {"alice@example.org"}});
  add_own(alice);
  EXPECT_TRUE(store.select_encryption_certificate("alice@example.org").best);
}

TEST_F(StoreTest, ASigningIdentityHasItsKeyAndChain) {
  auto alice = pki.issue({.emails = {"alice@example.org"}, .key = KeyType::rsa2048});
  add_own(alice);
  auto s = store.select_signing_identity("alice@example.org");
  ASSERT_TRUE(s.best) << s.why_none();
  EXPECT_EQ(s.best->fingerprint, alice.fingerprint());
  EXPECT_TRUE(ossl::key_matches(s.best->certificate.get(), s.best->key.get()));
  ASSERT_EQ(sk_X509_num(s.best->chain.get()), 1);
  EXPECT_EQ(ossl::sha256_fingerprint(sk_X509_value(s.best->chain.get(), 0)), pki.intermediate().fingerprint());
}

TEST_F(StoreTest, SomeoneElsesCertificateIsNoSigningIdentity) {
  add_other(pki.issue({.emails = {"bob@example.net"}}));
  EXPECT_FALSE(store.select_signing_identity("bob@example.net").best);
}

TEST_F(StoreTest, SigningNeedsASigningKeyUsage) {
  add_own(
      pki.issue({.emails = {"alice@example.org"}, .key = KeyType::rsa2048, .key_usage = "critical,keyEncipherment"}));
  auto s = store.select_signing_identity("alice@example.org");
  EXPECT_FALSE(s.best);
  EXPECT_EQ(only_reason(s.rejected), "wrong key usage");
}

TEST_F(StoreTest, LayoutAndModes) {
  auto alice = pki.issue({.emails = {"alice@example.org"}});
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  add_own(alice);
  add_other(bob);
  store.import_bytes(pki.crl({}), {});
  const auto root = store.root();
  EXPECT_EQ(mode_of(root / "private"), 0700u);
  EXPECT_EQ(mode_of(root / "gnupg"), 0700u);
  EXPECT_EQ(mode_of(root / "private" / (alice.fingerprint() + ".key")), 0600u);
  EXPECT_THAT(slurp(root / "private" / (alice.fingerprint() + ".key")), HasSubstr("PRIVATE KEY"));
  EXPECT_THAT(slurp(root / "private" / (alice.fingerprint() + ".pem")), Not(HasSubstr("PRIVATE KEY")));
  EXPECT_THAT(slurp(root / "certs" / (bob.fingerprint() + ".meta")), HasSubstr("how: import\n"));
  EXPECT_TRUE(std::filesystem::exists(root / "anchors" / (pki.root().fingerprint() + ".pem")));
  EXPECT_TRUE(std::filesystem::exists(root / "intermediates" / (pki.intermediate().fingerprint() + ".pem")));
  int crls = 0;
  for (const auto& f : std::filesystem::directory_iterator(root / "crls")) {
    EXPECT_EQ(f.path().extension(), ".pem");
    ++crls;
  }
  EXPECT_EQ(crls, 1);
  for (const auto& f : std::filesystem::recursive_directory_iterator(root)) {
    EXPECT_THAT(f.path().filename().string(), Not(StartsWith(".tmp-"))) << "a temporary file was left";
  }
}

TEST_F(StoreTest, AReadablePrivateDirectoryIsRefusedForSigningOnly) {
  auto alice = pki.issue({.emails = {"alice@example.org"}});
  add_own(alice);
  add_other(pki.issue({.emails = {"bob@example.net"}}));
  ASSERT_EQ(::chmod((store.root() / "private").c_str(), 0750), 0);
  try {
    store.select_signing_identity("alice@example.org");
    ADD_FAILURE() << "accepted";
  } catch (const KeyStoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("mode 0750"));
    EXPECT_THAT(e.what(), HasSubstr("chmod 700"));
  }
  auto r = store.has_usable_key("alice@example.org", KeyKind::smime_sign);
  EXPECT_TRUE(r.failed());
  EXPECT_THAT(r.error, HasSubstr("chmod 700"));
  // Imports refuse too, rather than add to a store that leaks keys.
  EXPECT_THROW(add_other(pki.issue({.emails = {"carol@example.net"}})), KeyStoreError);
  EXPECT_TRUE(store.select_encryption_certificate("bob@example.net").best);
}

TEST_F(StoreTest, AReadableKeyFileIsNotUsed) {
  auto alice = pki.issue({.emails = {"alice@example.org"}});
  add_own(alice);
  ASSERT_EQ(::chmod((store.root() / "private" / (alice.fingerprint() + ".key")).c_str(), 0640), 0);
  auto s = store.select_signing_identity("alice@example.org");
  EXPECT_FALSE(s.best);
  EXPECT_THAT(only_reason(s.rejected), HasSubstr("chmod 600"));
}

TEST_F(StoreTest, AMissingKeyFileIsSaid) {
  auto alice = pki.issue({.emails = {"alice@example.org"}});
  add_own(alice);
  std::filesystem::remove(store.root() / "private" / (alice.fingerprint() + ".key"));
  EXPECT_EQ(only_reason(store.select_signing_identity("alice@example.org").rejected), "no private key");
}

TEST_F(StoreTest, HarvestRecordsWhereAndWhen) {
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  EXPECT_TRUE(store.harvest(bob.cert.get(), "signed mail from <bob@example.net> 4Q2x1B0kzNz\n"));
  EXPECT_FALSE(store.harvest(bob.cert.get(), "again"));
  const auto meta = slurp(store.root() / "certs" / (bob.fingerprint() + ".meta"));
  EXPECT_THAT(meta, HasSubstr("how: harvest\n"));
  EXPECT_THAT(meta, HasSubstr("source: signed mail from <bob@example.net> 4Q2x1B0kzNz\\x0a\n"));
  EXPECT_THAT(meta, HasSubstr("added: 20"));
  bool listed = false;
  for (const auto& e : store.list()) {
    if (e.fingerprint != bob.fingerprint()) continue;
    listed = true;
    ASSERT_TRUE(e.provenance);
    EXPECT_EQ(e.provenance->how, "harvest");
    EXPECT_EQ(e.shelf, Shelf::certs);
  }
  EXPECT_TRUE(listed);
  EXPECT_TRUE(store.select_encryption_certificate("bob@example.net").best);
}

TEST_F(StoreTest, HarvestRefusesCasAndCertificatesWithoutAddress) {
  EXPECT_THROW(store.harvest(pki.intermediate().cert.get(), "x"), ImportError);
  auto nameless = pki.issue({});
  EXPECT_THROW(store.harvest(nameless.cert.get(), "x"), ImportError);
  EXPECT_FALSE(std::filesystem::exists(store.root() / "certs" / (nameless.fingerprint() + ".pem")));
}

TEST_F(StoreTest, TheVerificationStoreHoldsAnchorsIntermediatesAndCrls) {
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  auto carol = pki.issue({.emails = {"carol@example.net"}});
  store.import_bytes(pki.crl({&bob}), {});
  ossl::X509StorePtr trust = store.verification_store();
  auto verify = [&](const Issued& c) {
    ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), trust.get(), c.cert.get(), nullptr);
    X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_CRL_CHECK);
    const int ok = X509_verify_cert(ctx.get());
    return ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
  };
  EXPECT_EQ(verify(carol), X509_V_OK);
  EXPECT_EQ(verify(bob), X509_V_ERR_CERT_REVOKED);
  TestPki other("Elsewhere");
  EXPECT_NE(verify(other.issue({.emails = {"x@y.org"}})), X509_V_OK);
}

TEST_F(StoreTest, KeyFinderAnswers) {
  add_own(pki.issue({.emails = {"alice@example.org"}}));
  add_other(pki.issue({.emails = {"bob@example.net"}}));
  add_other(pki.issue({.emails = {"old@example.net"}, .not_before_days = -9, .not_after_days = -1}));
  const lookup::KeyFinder& keys = store;
  auto yes = [&](const char* a, KeyKind k) {
    auto r = keys.has_usable_key(a, k);
    EXPECT_FALSE(r.failed()) << r.error;
    return r.value.value_or(false);
  };
  EXPECT_TRUE(yes("bob@example.net", KeyKind::smime_encrypt));
  EXPECT_FALSE(yes("bob@example.net", KeyKind::smime_sign));
  EXPECT_TRUE(yes("alice@example.org", KeyKind::smime_sign));
  EXPECT_TRUE(yes("alice@example.org", KeyKind::smime_encrypt));
  EXPECT_FALSE(yes("old@example.net", KeyKind::smime_encrypt));
  EXPECT_FALSE(yes("nobody@example.net", KeyKind::smime_encrypt));
}

TEST(KeyStoreMissing, AMissingStoreIsAFailureNotANo) {
  Scratch dir;
  KeyStore store(dir.path() / "nowhere");
  auto r = store.has_usable_key("bob@example.net", KeyKind::smime_encrypt);
  EXPECT_TRUE(r.failed());
  EXPECT_THAT(r.error, HasSubstr("not a directory"));
  EXPECT_THROW(store.select_encryption_certificate("bob@example.net"), KeyStoreError);
}

TEST_F(StoreTest, ChangesOnDiskAreSeenByTheNextQuery) {
  KeyStore reader(store.root());
  EXPECT_FALSE(reader.select_encryption_certificate("bob@example.net").best);
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  add_other(bob);
  EXPECT_TRUE(reader.select_encryption_certificate("bob@example.net").best);
  store.remove("bob@example.net");
  EXPECT_FALSE(reader.select_encryption_certificate("bob@example.net").best);
}

TEST_F(StoreTest, ACachedScanIsReplacedWhenAFolderChanges) {
  KeyStore reader(store.root());
  // Folders untouched for an hour: the scan is cached and reused.
  for (const char* d : {"certs", "private", "anchors", "intermediates", "crls"}) {
    std::filesystem::last_write_time(store.root() / d,
                                     std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
  }
  EXPECT_FALSE(reader.select_encryption_certificate("bob@example.net").best);
  EXPECT_FALSE(reader.select_encryption_certificate("bob@example.net").best);
  add_other(pki.issue({.emails = {"bob@example.net"}}));  // a rename into certs/ moves its mtime
  EXPECT_TRUE(reader.select_encryption_certificate("bob@example.net").best);
}

TEST_F(StoreTest, AMalformedFileIsSkippedAndReported) {
  add_other(pki.issue({.emails = {"bob@example.net"}}));
  postern::testing::write_file(store.root() / "certs" / "broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n");
  EXPECT_TRUE(store.select_encryption_certificate("bob@example.net").best);
  const auto problems = store.problems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("broken.pem: skipped"));
}

TEST_F(StoreTest, QueriesFromManyThreadsWhileTheStoreChanges) {
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  add_other(bob);
  std::vector<Issued> more;
  for (int i = 0; i < 4; ++i) more.push_back(pki.issue({.emails = {"m" + std::to_string(i) + "@example.net"}}));
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto r = store.has_usable_key("bob@example.net", KeyKind::smime_encrypt);
        if (r.failed() || !*r.value) ++wrong;
      }
    });
  }
  for (const auto& m : more) add_other(m);
  for (auto& t : readers) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_TRUE(store.select_encryption_certificate("m3@example.net").best);
}

TEST_F(StoreTest, AVetoRejectsACandidateAndTheNextBestIsUsed) {
  auto older = pki.issue({.emails = {"bob@example.net"}, .not_before_days = -10});
  auto newer = pki.issue({.emails = {"bob@example.net"}, .not_before_days = -2});
  add_other(older);
  add_other(newer);
  std::vector<std::string> asked;
  auto veto = [&](X509* cert, STACK_OF(X509) * chain) -> std::string {
    asked.push_back(ossl::sha256_fingerprint(cert));
    EXPECT_EQ(sk_X509_num(chain), 3);  // the certificate, the intermediate, the anchor
    EXPECT_EQ(X509_cmp(sk_X509_value(chain, 0), cert), 0);
    return ossl::sha256_fingerprint(cert) == newer.fingerprint() ? "revoked (OCSP): keyCompromise" : "";
  };
  auto s = store.select_encryption_certificate("bob@example.net", veto);
  ASSERT_TRUE(s.best) << s.why_none();
  EXPECT_EQ(s.best->fingerprint, older.fingerprint());
  EXPECT_EQ(asked, (std::vector<std::string>{newer.fingerprint(), older.fingerprint()}));
  EXPECT_EQ(only_reason(s.rejected), "revoked (OCSP): keyCompromise");

  auto none = store.select_encryption_certificate("bob@example.net", [](X509*, STACK_OF(X509) *) {
    return std::string("revoked (CRL): unspecified");
  });
  EXPECT_FALSE(none.best);
  EXPECT_THAT(none.why_none(), HasSubstr(older.fingerprint().substr(0, 16) + ": revoked (CRL)"));
  EXPECT_THAT(none.why_none(), HasSubstr(newer.fingerprint().substr(0, 16) + ": revoked (CRL)"));
}

TEST_F(StoreTest, DecryptionIdentitiesTakeEveryKeyThatCanDecryptNewestFirst) {
  auto expired = pki.issue({.emails = {"alice@example.org"}, .not_before_days = -400, .not_after_days = -30});
  auto agreement_only =
      pki.issue({.emails = {"alice@example.org"}, .key_usage = "critical,keyAgreement", .not_before_days = -5});
  auto encipher_only = pki.issue({.emails = {"alice@example.org"},
                                  .key = KeyType::rsa2048,
                                  .key_usage = "critical,keyEncipherment",
                                  .not_before_days = -3});
  auto no_usage = pki.issue({.emails = {"alice@example.org"}, .key_usage = "", .not_before_days = -4});
  auto sign_only =
      pki.issue({.emails = {"alice@example.org"}, .key_usage = "critical,digitalSignature", .not_before_days = -1});
  auto other = pki.issue({.emails = {"bob@example.org"}});
  for (const Issued* i : {&expired, &agreement_only, &encipher_only, &no_usage, &sign_only, &other}) add_own(*i);
  add_other(pki.issue({.emails = {"alice@example.org"}}));  // no key here

  const auto ids = store.decryption_identities("Alice@Example.org");
  std::vector<std::string> got;
  for (const auto& id : ids) {
    got.push_back(id.fingerprint);
    EXPECT_TRUE(id.key && ossl::key_matches(id.certificate.get(), id.key.get()));
  }
  EXPECT_EQ(got, (std::vector<std::string>{encipher_only.fingerprint(), no_usage.fingerprint(),
                                           agreement_only.fingerprint(), expired.fingerprint()}));
  // Signing does not take an encryption-only or expired certificate.
  auto sig = store.select_signing_identity("alice@example.org");
  ASSERT_TRUE(sig.best);
  EXPECT_EQ(sig.best->fingerprint, sign_only.fingerprint());
  EXPECT_TRUE(store.decryption_identities("carol@example.org").empty());
}

TEST_F(StoreTest, DecryptionIdentitiesSkipAMissingKey) {
  auto alice = pki.issue({.emails = {"alice@example.org"}});
  add_own(alice);
  std::filesystem::remove(store.root() / "private" / (alice.fingerprint() + ".key"));
  EXPECT_TRUE(store.decryption_identities("alice@example.org").empty());
}

}  // namespace
}  // namespace postern::keystore::testing
