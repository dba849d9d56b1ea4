// postern-crypto in-process: a TestPki key store in a temporary directory,
// plans sealed with the real Sealer, the message driven through
// MilterDriver; the protected result is rebuilt from the transcript and
// opened by common/smime and by `openssl cms` (the real judge).
#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "crypto_files.hpp"
#include "postern/config/config.hpp"
#include "postern/core/error.hpp"
#include "postern/crypto/crypto_filter.hpp"
#include "postern/crypto/header_edit.hpp"
#include "postern/crypto/settings.hpp"
#include "postern/keystore/key_store.hpp"
#include "postern/log/log.hpp"
#include "postern/plan/sealer.hpp"
#include "postern/smime/smime.hpp"
#include "postern/testing/delivered.hpp"
#include "postern/testing/milter_driver.hpp"
#include "postern/testing/test_pki.hpp"

namespace postern::crypto {
namespace {

namespace fs = std::filesystem;
using milter::Status;
using testing::Envelope;
using testing::MilterDriver;

constexpr char kQueueId[] = "4Q2x1B0kzNz";

std::string delivered(std::string_view original, const testing::MessageResult& r) {
  return testing::delivered_message(original, r);
}

bool has_line(const std::vector<std::string>& transcript, std::string_view prefix) {
  return std::any_of(transcript.begin(), transcript.end(),
                     [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// openssl is a real judge: its absence fails the test under POSTERN_REQUIRE_ALL=1.
#define REQUIRE_OPENSSL()                                                                  \
  do {                                                                                     \
    if (!have_openssl()) {                                                                 \
      const char* all = std::getenv("POSTERN_REQUIRE_ALL");                                \
      if (all != nullptr && std::string(all) == "1") FAIL() << "openssl is not installed"; \
      GTEST_SKIP() << "openssl is not installed";                                          \
    }                                                                                      \
  } while (false)

class CryptoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init("postern-crypto", log::Sink::none);
    char tmpl[] = "/tmp/postern-crypto-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    files_.emplace(dir_, *pki_);
    secret_ = files_->secret();
    root_ = files_->store_root();
    files_->import(alice_->pkcs12("pw", pki_->chain()), {.password = std::string("pw"), .anchor = false, .source = "test"});
    files_->import(bob_->pem());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // One PKI for the suite: RSA keys take a while to make.
  static void SetUpTestSuite() {
    pki_ = new testing::TestPki("Postern Crypto Test", testing::KeyType::rsa2048);
    // Our user alice (key in private/), the partner bob (certificate only),
    // dave outside (not in the store until harvested).
    alice_ = new testing::Issued(
        pki_->issue({.common_name = "Alice", .emails = {"alice@example.org"}, .key = testing::KeyType::rsa2048}));
    bob_ = new testing::Issued(
        pki_->issue({.common_name = "Bob", .emails = {"bob@partner.example"}, .key = testing::KeyType::rsa2048}));
    dave_ = new testing::Issued(pki_->issue({.common_name = "Dave", .emails = {"dave@partner.example"}}));
  }
  static void TearDownTestSuite() {
    delete dave_;
    delete bob_;
    delete alice_;
    delete pki_;
  }

  std::shared_ptr<const milter::Filter> filter(const std::string& extra = "") const {
    return files_->filter(extra);
  }

  std::string seal(const plan::Plan& p) const {
    plan::Sealer s(plan::Secret::load(secret_), {});
    return s.seal(p, plan::Sealer::Clock::now());
  }

  static std::string fold(const std::string& sealed) {
    std::string out;
    for (char c : sealed) {
      if (c == '\n') out += '\r';
      out += c;
    }
    return out;
  }

  static std::string outbound_message(const std::string& sealed) {
    return "Received: from client by mx\r\nX-Postern-Plan: " + fold(sealed) +
           "\r\nFrom: Alice <alice@example.org>\r\nTo: bob@partner.example\r\nSubject: Offerte\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo Bob, die Offerte.\r\n";
  }

  static Envelope outbound_envelope(std::vector<std::string> rcpts = {"<bob@partner.example>"}) {
    Envelope e;
    e.sender = "<alice@example.org>";
    e.recipients = std::move(rcpts);
    e.macros = {{"i", kQueueId}};
    return e;
  }

  static plan::Plan outbound_plan(std::vector<std::string> rcpts = {"<bob@partner.example>"}) {
    plan::Plan p;
    p.recipients = std::move(rcpts);
    p.encrypt = plan::EncryptMethod::smime;
    p.fallback = plan::EncryptFallback::bounce;
    p.sign = true;
    return p;
  }

  static plan::Plan inbound_plan() {
    plan::Plan p;
    p.recipients = {"<alice@example.org>"};
    p.decrypt = true;
    p.verify = true;
    return p;
  }

  static Envelope inbound_envelope() {
    Envelope e;
    e.sender = "<dave@partner.example>";
    e.recipients = {"<alice@example.org>"};
    e.macros = {{"i", kQueueId}};
    return e;
  }

  static smime::Credential credential(const testing::Issued& who, const testing::TestPki& pki) {
    smime::Credential c;
    c.cert = ossl::share(who.cert.get());
    EVP_PKEY_up_ref(who.key.get());
    c.key = ossl::PkeyPtr(who.key.get());
    c.chain.push_back(ossl::share(pki.intermediate().cert.get()));
    return c;
  }

  static std::string inbound_content() {
    return "From: Dave <dave@partner.example>\r\nTo: alice@example.org\r\nSubject: Vertrag\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=us-ascii\r\n\r\nDer Vertrag liegt bei.\r\n";
  }

  // The inbound message with the plan in front and Received on top.
  std::string with_plan(const std::string& message) const { return with_plan(message, inbound_plan()); }
  std::string with_plan(const std::string& message, const plan::Plan& p) const {
    return "Received: from mx.partner.example\r\nX-Postern-Plan: " + fold(seal(p)) + "\r\n" + message;
  }

  std::vector<keystore::Entry> harvested() const {
    keystore::KeyStore store(root_);
    std::vector<keystore::Entry> out;
    for (auto& e : store.list()) {
      if (e.provenance && e.provenance->how == "harvest") out.push_back(std::move(e));
    }
    return out;
  }

  static bool have_openssl() { return std::system("openssl version >/dev/null 2>&1") == 0; }

  static inline testing::TestPki* pki_ = nullptr;
  static inline testing::Issued* alice_ = nullptr;
  static inline testing::Issued* bob_ = nullptr;
  static inline testing::Issued* dave_ = nullptr;
  fs::path dir_, secret_, root_;
  std::optional<CryptoFiles> files_;
};

TEST_F(CryptoTest, SignsAndEncryptsPerPlanAndBothSmimeAndOpensslOpenIt) {
  const std::string original = outbound_message(seal(outbound_plan()));
  MilterDriver d(filter());
  auto r = d.run(outbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_TRUE(has_line(r.transcript, "delete_header \"X-Postern-Plan\" 1"));
  ASSERT_TRUE(r.body_replaced);
  EXPECT_EQ(r.new_body.find("Offerte"), std::string::npos) << "plaintext in the encrypted body";

  const std::string out = delivered(original, r);
  EXPECT_NE(out.find("Content-Type: application/pkcs7-mime; smime-type=enveloped-data"), std::string::npos);
  EXPECT_EQ(out.find("X-Postern-Plan"), std::string::npos);
  EXPECT_NE(out.find("Received: from client by mx\r\n"), std::string::npos);
  EXPECT_NE(out.find("Subject: Offerte\r\n"), std::string::npos);
  EXPECT_EQ(out.find("text/plain; charset=utf-8"), std::string::npos);

  // common/smime opens it with bob's key and the store's anchors.
  keystore::KeyStore store(root_);
  ossl::X509StorePtr trust = store.verification_store();
  smime::Credential bob = credential(*bob_, *pki_);
  smime::Opened opened = smime::open_message(out, {.keys = {&bob}, .trust = trust.get()});
  ASSERT_EQ(opened.status.failure, smime::Failure::none) << opened.status.detail;
  EXPECT_TRUE(opened.status.encrypted);
  ASSERT_EQ(opened.status.signatures.size(), 1u);
  EXPECT_EQ(opened.status.signatures[0].verdict, smime::Verdict::valid) << opened.status.signatures[0].reason;
  EXPECT_TRUE(opened.status.signatures[0].address_matches);
  EXPECT_NE(opened.message.find("Hallo Bob, die Offerte."), std::string::npos);

  // openssl cms: decrypt with bob's key, then verify alice's signature.
  REQUIRE_OPENSSL();
  testing::write_file(dir_ / "out.eml", out);
  testing::write_file(dir_ / "bob.pem", bob_->pem());
  testing::write_file(dir_ / "bob.key", bob_->key_pem(), 0600);
  testing::write_file(dir_ / "root.pem", pki_->root().pem());
  const std::string d_ = dir_.string();
  ASSERT_EQ(std::system(("openssl cms -decrypt -in " + d_ + "/out.eml -recip " + d_ + "/bob.pem -inkey " + d_ +
                         "/bob.key -out " + d_ + "/signed.eml 2>" + d_ + "/err1")
                            .c_str()),
            0)
      << slurp(dir_ / "err1");
  const std::string signed_entity = slurp(dir_ / "signed.eml");
  EXPECT_NE(signed_entity.find("multipart/signed"), std::string::npos);
  ASSERT_EQ(std::system(("openssl cms -verify -in " + d_ + "/signed.eml -CAfile " + d_ + "/root.pem -out " + d_ +
                         "/content.txt 2>" + d_ + "/err2")
                            .c_str()),
            0)
      << slurp(dir_ / "err2");
  EXPECT_NE(slurp(dir_ / "content.txt").find("Hallo Bob, die Offerte."), std::string::npos);
}

TEST_F(CryptoTest, SignOnlyKeepsTheTextReadableAndOpensslVerifies) {
  plan::Plan p = outbound_plan();
  p.encrypt = plan::EncryptMethod::none;
  const std::string original = outbound_message(seal(p));
  MilterDriver d(filter("outbound: {sign_format: detached}\n"));
  auto r = d.run(outbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  const std::string out = delivered(original, r);
  EXPECT_NE(out.find("multipart/signed"), std::string::npos);
  EXPECT_NE(out.find("Hallo Bob, die Offerte."), std::string::npos);
  REQUIRE_OPENSSL();
  testing::write_file(dir_ / "out.eml", out);
  testing::write_file(dir_ / "root.pem", pki_->root().pem());
  const std::string d_ = dir_.string();
  EXPECT_EQ(std::system(("openssl cms -verify -in " + d_ + "/out.eml -CAfile " + d_ + "/root.pem -out /dev/null 2>" +
                         d_ + "/err")
                            .c_str()),
            0)
      << slurp(dir_ / "err");
}

TEST_F(CryptoTest, MissingCertificateBouncesNamingTheRecipient) {
  const std::vector<std::string> rcpts = {"<bob@partner.example>", "<carol@nowhere.example>"};
  MilterDriver d(filter());
  auto r = d.run(outbound_envelope(rcpts), outbound_message(seal(outbound_plan(rcpts))));
  ASSERT_EQ(r.verdict.status, Status::reject) << testing::describe(r.verdict);
  EXPECT_EQ(r.verdict.reply->code, "550");
  EXPECT_EQ(r.verdict.reply->xcode, "5.7.1");
  EXPECT_NE(r.verdict.reply->text.find("carol@nowhere.example"), std::string::npos);
  EXPECT_EQ(r.verdict.reply->text.find("bob@partner.example"), std::string::npos);
  EXPECT_FALSE(r.body_replaced);
}

TEST_F(CryptoTest, MissingCertificateHoldsWithTheReason) {
  plan::Plan p = outbound_plan({"<carol@nowhere.example>"});
  p.fallback = plan::EncryptFallback::hold;
  MilterDriver d(filter());
  auto r = d.run(outbound_envelope({"<carol@nowhere.example>"}), outbound_message(seal(p)));
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_TRUE(has_line(r.transcript, "quarantine \"postern-crypto: encryption required, no usable key for "
                                     "carol@nowhere.example\""))
      << ::testing::PrintToString(r.transcript);
  EXPECT_TRUE(has_line(r.transcript, "delete_header \"X-Postern-Plan\" 1"));
  EXPECT_FALSE(r.body_replaced);
}

TEST_F(CryptoTest, IncamailFallbackReroutesTheWholeTransactionToIncamail) {
  const std::vector<std::string> rcpts = {"<bob@partner.example>", "<carol@nowhere.example>"};
  plan::Plan p = outbound_plan(rcpts);
  p.fallback = plan::EncryptFallback::incamail;
  p.sign = false;
  Envelope e = outbound_envelope(rcpts);
  MilterDriver d(filter());
  auto r = d.run(e, outbound_message(seal(p)));
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  const auto& t = r.transcript;
  EXPECT_TRUE(has_line(t, "delete_header \"X-Postern-Plan\" 1"));
  EXPECT_TRUE(has_line(t, "delete_recipient \"<carol@nowhere.example>\""));
  EXPECT_TRUE(has_line(t, "add_recipient \"<carol@nowhere.example.incamail.ch>\" \"ORCPT=rfc822;carol@nowhere.example\""));
  // bob has a certificate, but one body cannot be both S/MIME and IncaMail.
  EXPECT_TRUE(has_line(t, "add_recipient \"<bob@partner.example.incamail.ch>\""));
  EXPECT_FALSE(r.body_replaced);
}

TEST_F(CryptoTest, IncamailFallbackWithSigningSignsAndReroutes) {
  plan::Plan p = outbound_plan({"<carol@nowhere.example>"});
  p.fallback = plan::EncryptFallback::incamail;
  const std::string original = outbound_message(seal(p));
  MilterDriver d(filter());
  auto r = d.run(outbound_envelope({"<carol@nowhere.example>"}), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_TRUE(has_line(r.transcript, "add_recipient \"<carol@nowhere.example.incamail.ch>\""));
  ASSERT_TRUE(r.body_replaced);
  const std::string out = delivered(original, r);
  EXPECT_NE(out.find("multipart/signed"), std::string::npos);
  EXPECT_EQ(out.find("pkcs7-mime"), std::string::npos);
}

TEST_F(CryptoTest, IncamailFallbackRefusesARecipientIncamailCannotTake) {
  const std::vector<std::string> rcpts = {"<carol@nowhere.example>", "<x@[192.0.2.1]>"};
  plan::Plan p = outbound_plan(rcpts);
  p.fallback = plan::EncryptFallback::incamail;
  p.sign = false;
  MilterDriver d(filter());
  auto r = d.run(outbound_envelope(rcpts), outbound_message(seal(p)));
  ASSERT_EQ(r.verdict.status, Status::reject) << testing::describe(r.verdict);
  EXPECT_FALSE(has_line(r.transcript, "add_recipient"));
}

TEST_F(CryptoTest, PgpIsNotBuiltSoTheFallbackApplies) {
  plan::Plan p = outbound_plan();
  p.encrypt = plan::EncryptMethod::pgp;
  MilterDriver d(filter());
  auto r = d.run(outbound_envelope(), outbound_message(seal(p)));
  ASSERT_EQ(r.verdict.status, Status::reject) << testing::describe(r.verdict);
  EXPECT_NE(r.verdict.reply->text.find("OpenPGP"), std::string::npos);
}

TEST_F(CryptoTest, AutoEncryptsWithSmimeWhenEveryRecipientHasACertificate) {
  plan::Plan p = outbound_plan();
  p.encrypt = plan::EncryptMethod::automatic;
  p.sign = false;
  const std::string original = outbound_message(seal(p));
  MilterDriver d(filter());
  auto r = d.run(outbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_NE(delivered(original, r).find("smime-type=enveloped-data"), std::string::npos);
}

TEST_F(CryptoTest, NoSigningKeyIsATempfail) {
  plan::Plan p = outbound_plan();
  p.encrypt = plan::EncryptMethod::none;
  std::string original = outbound_message(seal(p));
  original.replace(original.find("Alice <alice@example.org>"), 25, "eve@example.org");
  MilterDriver d(filter());
  auto r = d.run(outbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::tempfail) << testing::describe(r.verdict);
  EXPECT_EQ(r.verdict.reply->xcode, "4.7.0");
  EXPECT_NE(r.verdict.reply->text.find("eve@example.org"), std::string::npos);
}

TEST_F(CryptoTest, NoPlanPassesUnchanged) {
  const std::string message =
      "From: alice@example.org\r\nTo: bob@partner.example\r\nSubject: hi\r\n\r\nplain\r\n";
  MilterDriver d(filter());
  auto r = d.run(outbound_envelope(), message);
  EXPECT_EQ(r.verdict.status, Status::accept) << testing::describe(r.verdict);
  EXPECT_FALSE(r.body_replaced);
  EXPECT_FALSE(has_line(r.transcript, "add_header"));
  EXPECT_FALSE(has_line(r.transcript, "change_header"));
  EXPECT_FALSE(has_line(r.transcript, "delete_header"));
}

TEST_F(CryptoTest, ForgedPlanIsATempfail) {
  const fs::path other = dir_ / "other.key";
  testing::write_file(other, "another-secret-another-secret-another-secret", 0600);
  plan::Sealer forger(plan::Secret::load(other), {});
  MilterDriver d(filter());
  auto r = d.run(outbound_envelope(), outbound_message(forger.seal(outbound_plan(), plan::Sealer::Clock::now())));
  ASSERT_EQ(r.verdict.status, Status::tempfail) << testing::describe(r.verdict);
  EXPECT_EQ(r.verdict.reply->code, "451");
  EXPECT_EQ(r.verdict.reply->xcode, "4.7.0");
  EXPECT_FALSE(r.body_replaced);
}

TEST_F(CryptoTest, TwoPlansAreATempfail) {
  const std::string sealed = seal(outbound_plan());
  std::string message = outbound_message(sealed);
  message.insert(0, "X-Postern-Plan: " + fold(seal(outbound_plan())) + "\r\n");
  MilterDriver d(filter());
  auto r = d.run(outbound_envelope(), message);
  EXPECT_EQ(r.verdict.status, Status::tempfail) << testing::describe(r.verdict);
}

TEST_F(CryptoTest, ReplayedPlanIsATempfail) {
  const std::string message = outbound_message(seal(outbound_plan()));
  auto f = filter();
  MilterDriver d1(f);
  EXPECT_EQ(d1.run(outbound_envelope(), message).verdict.status, Status::proceed);
  MilterDriver d2(f);
  EXPECT_EQ(d2.run(outbound_envelope(), message).verdict.status, Status::tempfail);
}

TEST_F(CryptoTest, PlanWithoutCryptoOnlyLosesThePlanHeader) {
  plan::Plan p;
  p.recipients = {"<bob@partner.example>"};
  p.subject_tag = "[x]";
  MilterDriver d(filter());
  auto r = d.run(outbound_envelope(), outbound_message(seal(p)));
  ASSERT_EQ(r.verdict.status, Status::proceed);
  EXPECT_TRUE(has_line(r.transcript, "delete_header \"X-Postern-Plan\" 1"));
  EXPECT_FALSE(r.body_replaced);
}

TEST_F(CryptoTest, InboundEncryptedAndSignedIsDecryptedAndTheSignerHarvested) {
  smime::Credential dave = credential(*dave_, *pki_);
  const std::string protected_message =
      smime::sign_and_encrypt_message(inbound_content(), dave, {alice_->cert.get()});
  const std::string original = with_plan("X-Postern-Security: encryption=decrypted; signature=valid\r\n" +
                                         protected_message);
  MilterDriver d(filter());
  auto r = d.run(inbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  ASSERT_TRUE(r.body_replaced);
  const std::string out = delivered(original, r);
  EXPECT_NE(out.find("Der Vertrag liegt bei."), std::string::npos);
  EXPECT_NE(out.find("Content-Type: text/plain; charset=us-ascii"), std::string::npos);
  EXPECT_EQ(out.find("pkcs7-mime"), std::string::npos);
  EXPECT_EQ(out.find("X-Postern-Plan"), std::string::npos);
  EXPECT_NE(out.find("X-Postern-Security: encryption=decrypted; signature=valid; signer=dave@partner.example; "
                     "from-match=yes\r\n"),
            std::string::npos)
      << out;
  // The forged copy that came with the message is gone: only ours is left.
  EXPECT_EQ(out.find("X-Postern-Security"), out.rfind("X-Postern-Security"));
  const auto entries = harvested();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].emails, std::vector<std::string>{"dave@partner.example"});
  EXPECT_EQ(entries[0].provenance->source, std::string("harvest:") + kQueueId);
}

TEST_F(CryptoTest, InboundBadSignatureIsReportedAndNotHarvested) {
  smime::Credential dave = credential(*dave_, *pki_);
  std::string signed_message = smime::sign_message(inbound_content(), dave);
  const std::size_t at = signed_message.find("Der Vertrag");
  ASSERT_NE(at, std::string::npos);
  signed_message.replace(at, 3, "Ein");
  const std::string original = with_plan(signed_message);
  MilterDriver d(filter());
  auto r = d.run(inbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_FALSE(r.body_replaced) << "a signed message keeps its signature";
  const std::string out = delivered(original, r);
  EXPECT_NE(out.find("X-Postern-Security: encryption=none; signature=bad-signature; signer=dave@partner.example"),
            std::string::npos)
      << out;
  EXPECT_TRUE(harvested().empty());
}

TEST_F(CryptoTest, InboundValidSignatureOnlyIsHarvestedAndKept) {
  smime::Credential dave = credential(*dave_, *pki_);
  const std::string original = with_plan(smime::sign_message(inbound_content(), dave));
  MilterDriver d(filter());
  auto r = d.run(inbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_FALSE(r.body_replaced);
  EXPECT_NE(delivered(original, r).find("X-Postern-Security: encryption=none; signature=valid"), std::string::npos);
  EXPECT_EQ(harvested().size(), 1u);
}

// Revocation (common/revocation): dave's certificate names no OCSP
// responder or CRL distribution point, so without a local CRL its status is
// unknown: soft_fail (the default, above) accepts, hard_fail does not.
TEST_F(CryptoTest, InboundHardFailRefusesASignerWhoseRevocationIsUnknown) {
  smime::Credential dave = credential(*dave_, *pki_);
  const std::string original = with_plan(smime::sign_message(inbound_content(), dave));
  MilterDriver d(filter("revocation: {mode: hard_fail, timeout: 500ms}\n"));
  auto r = d.run(inbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  const std::string out = delivered(original, r);
  EXPECT_EQ(out.find("signature=valid"), std::string::npos) << out;
  EXPECT_NE(out.find("X-Postern-Security: encryption=none; signature="), std::string::npos) << out;
  EXPECT_TRUE(harvested().empty());
}

TEST_F(CryptoTest, InboundSignerRevokedByAStoredCrlIsNotValid) {
  // The intermediate's CRL in the store's crls/ lists dave.
  testing::write_file(root_ / "crls" / "intermediate.crl.pem", pki_->crl({dave_}), 0644);
  smime::Credential dave = credential(*dave_, *pki_);
  const std::string original = with_plan(smime::sign_message(inbound_content(), dave));
  MilterDriver d(filter());
  auto r = d.run(inbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  const std::string out = delivered(original, r);
  EXPECT_EQ(out.find("signature=valid"), std::string::npos) << out;
  EXPECT_NE(out.find("revoked"), std::string::npos) << out;
  EXPECT_TRUE(harvested().empty());
}

TEST_F(CryptoTest, InboundSignatureLayerIsKeptAfterDecryptionUnlessThePlanRemovesIt) {
  smime::Credential dave = credential(*dave_, *pki_);
  const std::string protected_message =
      smime::sign_and_encrypt_message(inbound_content(), dave, {alice_->cert.get()});
  {
    const std::string original = with_plan(protected_message);
    MilterDriver d(filter());
    auto r = d.run(inbound_envelope(), original);
    ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
    const std::string out = delivered(original, r);
    EXPECT_EQ(out.find("enveloped-data"), std::string::npos) << out;
    EXPECT_NE(out.find("Content-Type: multipart/signed"), std::string::npos) << out;
    EXPECT_NE(out.find("Der Vertrag liegt bei."), std::string::npos);
    // The reader's client (here smime itself) can still check it.
    const smime::Opened again = smime::open_message(out.substr(out.find("From: Dave")), {});
    EXPECT_EQ(again.status.failure, smime::Failure::none) << again.status.detail;
    EXPECT_TRUE(again.status.is_signed());
  }
  plan::Plan p = inbound_plan();
  p.remove_signature = true;
  {
    const std::string original = with_plan(protected_message, p);
    MilterDriver d(filter());
    auto r = d.run(inbound_envelope(), original);
    ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
    const std::string out = delivered(original, r);
    EXPECT_EQ(out.find("multipart/signed"), std::string::npos) << out;
    EXPECT_NE(out.find("Content-Type: text/plain; charset=us-ascii"), std::string::npos) << out;
    EXPECT_NE(out.find("signature=valid; signer=dave@partner.example"), std::string::npos) << out;
  }
  {
    // Signed only: the layer comes off as well.
    const std::string original = with_plan(smime::sign_message(inbound_content(), dave), p);
    MilterDriver d(filter());
    auto r = d.run(inbound_envelope(), original);
    ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
    EXPECT_TRUE(r.body_replaced);
    const std::string out = delivered(original, r);
    EXPECT_EQ(out.find("pkcs7-signature"), std::string::npos) << out;
    EXPECT_NE(out.find("\r\n\r\nDer Vertrag liegt bei.\r\n"), std::string::npos) << out;
  }
}

TEST_F(CryptoTest, InboundResultIsInAuthenticationResultsAndTheSubjectTag) {
  smime::Credential dave = credential(*dave_, *pki_);
  plan::Plan p = inbound_plan();
  p.security_tags = {"[decrypted]", "[signed]", "[signature not valid]"};
  const std::string forged =
      "Authentication-Results: mx.example.org; smime=pass body.smime-identifier=ceo@example.org\r\n"
      "Authentication-Results: other.example; smime=pass\r\n";
  {
    const std::string original =
        with_plan(forged + smime::sign_and_encrypt_message(inbound_content(), dave, {alice_->cert.get()}), p);
    MilterDriver d(filter("inbound: {authserv_id: mx.example.org}\n"));
    auto r = d.run(inbound_envelope(), original);
    ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
    const std::string out = delivered(original, r);
    EXPECT_NE(out.find("Subject: [decrypted] [signed] Vertrag\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("Authentication-Results: mx.example.org;\r\n\tsmime=pass "
                       "body.smime-identifier=dave@partner.example body.smime-serial="),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("ceo@example.org"), std::string::npos) << "the forged result claiming our id is gone";
    EXPECT_NE(out.find("Authentication-Results: other.example; smime=pass"), std::string::npos);
  }
  {
    std::string signed_message = smime::sign_message(inbound_content(), dave);
    signed_message.replace(signed_message.find("Der Vertrag"), 3, "Ein");
    const std::string original = with_plan(signed_message, p);
    MilterDriver d(filter("inbound: {authserv_id: mx.example.org}\n"));
    auto r = d.run(inbound_envelope(), original);
    const std::string out = delivered(original, r);
    EXPECT_NE(out.find("Subject: [signature not valid] Vertrag\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("\tsmime=fail body.smime-identifier=dave@partner.example"), std::string::npos) << out;
  }
  {
    const std::string original = with_plan(smime::sign_message(inbound_content(), dave), p);
    MilterDriver d(filter("inbound: {authserv_id: mx.example.org, authentication_results: false}\n"));
    auto r = d.run(inbound_envelope(), original);
    const std::string out = delivered(original, r);
    EXPECT_NE(out.find("Subject: [signed] Vertrag\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("Authentication-Results"), std::string::npos) << out;
  }
}

TEST_F(CryptoTest, PlanRevocationChoiceOverridesTheMilterSetting) {
  // As in InboundHardFailRefusesASignerWhoseRevocationIsUnknown: dave's
  // status cannot be learned.
  smime::Credential dave = credential(*dave_, *pki_);
  plan::Plan hard = inbound_plan();
  hard.revocation = plan::Revocation::hard_fail;
  {
    const std::string original = with_plan(smime::sign_message(inbound_content(), dave), hard);
    MilterDriver d(filter());  // the milter says soft_fail
    auto r = d.run(inbound_envelope(), original);
    const std::string out = delivered(original, r);
    EXPECT_NE(out.find("X-Postern-Security: encryption=none; signature=revoked"), std::string::npos) << out;
  }
  plan::Plan off = inbound_plan();
  off.revocation = plan::Revocation::off;
  {
    const std::string original = with_plan(smime::sign_message(inbound_content(), dave), off);
    MilterDriver d(filter("revocation: {mode: hard_fail}\n"));
    auto r = d.run(inbound_envelope(), original);
    const std::string out = delivered(original, r);
    EXPECT_NE(out.find("X-Postern-Security: encryption=none; signature=valid"), std::string::npos) << out;
  }
}

TEST_F(CryptoTest, InboundUndecryptableIsDeliveredUnchangedWithTheReason) {
  // Encrypted for bob, whose key is not here.
  const std::string protected_message = smime::encrypt_message(inbound_content(), {bob_->cert.get()});
  const std::string original = with_plan(protected_message);
  MilterDriver d(filter());
  auto r = d.run(inbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_FALSE(r.body_replaced);
  const std::string out = delivered(original, r);
  EXPECT_NE(out.find("X-Postern-Security: encryption=not-decrypted; signature=not-checked; error=no-key"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("smime-type=enveloped-data"), std::string::npos);
}

TEST_F(CryptoTest, OrganisationKeyDecryptsWhatNoRecipientKeyOpens) {
  testing::Issued org = pki_->issue({.common_name = "Org", .emails = {"decrypt@example.org"}});
  testing::write_file(dir_ / "org.pem", org.pem());
  testing::write_file(dir_ / "org.key", org.key_pem(), 0600);
  const std::string original = with_plan(smime::encrypt_message(inbound_content(), {org.cert.get()}));
  MilterDriver d(filter("inbound: {organisation_certificate: " + (dir_ / "org.pem").string() +
                        ", organisation_key: " + (dir_ / "org.key").string() + "}\n"));
  auto r = d.run(inbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  ASSERT_TRUE(r.body_replaced);
  EXPECT_NE(delivered(original, r).find("encryption=decrypted; signature=none"), std::string::npos);
}

TEST_F(CryptoTest, ConfigurationRefusesPassThroughOnInternalErrors) {
  EXPECT_THROW(filter("milter: {on_internal_error: accept}\n"), core::ConfigError);
  ::chmod(secret_.c_str(), 0644);
  EXPECT_THROW(filter(), core::ConfigError);
}

TEST_F(CryptoTest, LargeBodyIsSpooledAndStillEncrypted) {
  std::string original = outbound_message(seal(outbound_plan()));
  std::string big;
  for (int i = 0; i < 40000; ++i) big += "Zeile " + std::to_string(i) + " der grossen Offerte\r\n";
  original += big;
  MilterDriver d(filter("spool: {memory_limit: 64K, directory: " + dir_.string() + "}\n"));
  auto r = d.run(outbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  keystore::KeyStore store(root_);
  ossl::X509StorePtr trust = store.verification_store();
  smime::Credential bob = credential(*bob_, *pki_);
  smime::Opened opened = smime::open_message(delivered(original, r), {.keys = {&bob}, .trust = trust.get()});
  ASSERT_EQ(opened.status.failure, smime::Failure::none) << opened.status.detail;
  EXPECT_NE(opened.message.find("Zeile 39999 der grossen Offerte"), std::string::npos);
}

TEST_F(CryptoTest, HeaderProtectionHidesTheSubjectAndOpeningRestoresIt) {
  plan::Plan p = outbound_plan();
  const std::string original = outbound_message(seal(p));
  MilterDriver d(filter("outbound: {header_protection: true, placeholder_subject: '[encrypted]'}\n"));
  auto r = d.run(outbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  const std::string out = delivered(original, r);
  EXPECT_NE(out.find("Subject: [encrypted]\r\n"), std::string::npos) << out.substr(0, 600);
  EXPECT_EQ(out.find("Offerte"), std::string::npos);
  keystore::KeyStore store(root_);
  ossl::X509StorePtr trust = store.verification_store();
  smime::Credential bob = credential(*bob_, *pki_);
  smime::Opened opened = smime::open_message(out, {.keys = {&bob}, .trust = trust.get()});
  ASSERT_EQ(opened.status.failure, smime::Failure::none) << opened.status.detail;
  EXPECT_TRUE(opened.status.header_protection);
  EXPECT_NE(opened.message.find("Subject: Offerte"), std::string::npos);
}

TEST_F(CryptoTest, OpaqueSigningAndGcmAreWhatOpensslReads) {
  const std::string original = outbound_message(seal(outbound_plan()));
  MilterDriver d(filter("outbound: {sign_format: opaque, cipher: aes256-gcm}\n"));
  auto r = d.run(outbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  const std::string out = delivered(original, r);
  EXPECT_NE(out.find("smime-type=authEnveloped-data"), std::string::npos);
  REQUIRE_OPENSSL();
  testing::write_file(dir_ / "out.eml", out);
  testing::write_file(dir_ / "bob.pem", bob_->pem());
  testing::write_file(dir_ / "bob.key", bob_->key_pem(), 0600);
  testing::write_file(dir_ / "root.pem", pki_->root().pem());
  const std::string d_ = dir_.string();
  ASSERT_EQ(std::system(("openssl cms -decrypt -in " + d_ + "/out.eml -recip " + d_ + "/bob.pem -inkey " + d_ +
                         "/bob.key -out " + d_ + "/signed.eml 2>" + d_ + "/err1")
                            .c_str()),
            0)
      << slurp(dir_ / "err1");
  EXPECT_NE(slurp(dir_ / "signed.eml").find("smime-type=signed-data"), std::string::npos);
  ASSERT_EQ(std::system(("openssl cms -verify -in " + d_ + "/signed.eml -CAfile " + d_ + "/root.pem -out " + d_ +
                         "/content.txt 2>" + d_ + "/err2")
                            .c_str()),
            0)
      << slurp(dir_ / "err2");
  EXPECT_NE(slurp(dir_ / "content.txt").find("Hallo Bob, die Offerte."), std::string::npos);
}

// The edits that turn one header list into another, as libmilter indexes them.
TEST(HeaderEditTest, ChangesDeletesLastFirstAndAddsInOrder) {
  milter::Capabilities caps;
  caps.add_headers = true;
  caps.change_headers = true;
  testing::RecordingActions actions(caps);
  actions.set_in_eom(true);
  const std::vector<Field> before = {{"Received", " a"}, {"X-S", " one"}, {"Content-Type", " text/plain"},
                                     {"X-S", " two"}, {"Subject", " hi\n\tthere"}};
  const std::vector<Field> after = {{"Received", " a"}, {"Subject", " hi\n\tthere"},
                                    {"Content-Type", " application/pkcs7-mime"},
                                    {"Content-Transfer-Encoding", " base64"}, {"X-New", " 1"}};
  EXPECT_EQ(apply_header_changes(before, after, actions), 5);
  EXPECT_EQ(actions.transcript(), (std::vector<std::string>{
                                      R"(delete_header "X-S" 2)",
                                      R"(delete_header "X-S" 1)",
                                      R"(change_header "Content-Type" 1 " application/pkcs7-mime")",
                                      R"(add_header "Content-Transfer-Encoding" " base64")",
                                      R"(add_header "X-New" " 1")",
                                  }));
  // Round trip of the header block the transforms read.
  const std::vector<Field> parsed = fields_of(header_block(before) + "body\r\n");
  ASSERT_EQ(parsed.size(), before.size());
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    EXPECT_EQ(parsed[i].name, before[i].name);
    EXPECT_EQ(parsed[i].value, before[i].value);
  }
}

TEST_F(CryptoTest, SpoolFailureWhereEncryptionWasRequiredIsATempfail) {
  std::string original = outbound_message(seal(outbound_plan()));
  original += std::string(20000, 'x') + "\r\n";
  MilterDriver d(filter("spool: {memory_limit: 4K, directory: " + (dir_ / "missing").string() + "}\n"));
  auto r = d.run(outbound_envelope(), original);
  ASSERT_EQ(r.verdict.status, Status::tempfail) << testing::describe(r.verdict);
  EXPECT_EQ(r.verdict.reply->xcode, "4.7.0");
  EXPECT_FALSE(r.body_replaced);
}

// Decryption keys are every key of the recipient that can decrypt, not the
// signing identity: an encryption-only certificate and an expired one
// (old mail stays readable) both open their mail.
TEST_F(CryptoTest, InboundDecryptsWithEncryptionOnlyAndExpiredCertificates) {
  testing::Issued enc_only = pki_->issue({.common_name = "Erin",
                                          .emails = {"erin@example.org"},
                                          .key = testing::KeyType::rsa2048,
                                          .key_usage = "critical,keyEncipherment"});
  testing::Issued expired = pki_->issue({.common_name = "Erin (old)",
                                         .emails = {"erin@example.org"},
                                         .not_before_days = -400,
                                         .not_after_days = -30});
  {
    keystore::KeyStore store(root_);
    store.import_bytes(enc_only.key_pem() + enc_only.pem(), {});
    store.import_bytes(expired.key_pem() + expired.pem(), {});
    ASSERT_FALSE(store.select_signing_identity("erin@example.org").best);
  }
  plan::Plan p = inbound_plan();
  p.recipients = {"<erin@example.org>"};
  Envelope e = inbound_envelope();
  e.recipients = {"<erin@example.org>"};
  for (const testing::Issued* cert : {&enc_only, &expired}) {
    const std::string original = "Received: from mx.partner.example\r\nX-Postern-Plan: " + fold(seal(p)) + "\r\n" +
                                 smime::encrypt_message(inbound_content(), {cert->cert.get()});
    MilterDriver d(filter());
    auto r = d.run(e, original);
    ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
    ASSERT_TRUE(r.body_replaced) << cert->fingerprint();
    const std::string out = delivered(original, r);
    EXPECT_NE(out.find("Der Vertrag liegt bei."), std::string::npos) << out;
    EXPECT_NE(out.find("X-Postern-Security: encryption=decrypted;"), std::string::npos) << out;
  }
}

// outbound.cipher: auto. A signer's SMIMECapabilities are recorded when
// its certificate is harvested; AES-256-GCM is used only when every
// recipient is known to support it.

// A message signed (opaque) by `who` whose SMIMECapabilities list exactly
// `ciphers` (the OpenSSL API: `openssl cms -sign` cannot list GCM).
std::string signed_with_capabilities(const std::string& headers, const std::string& entity,
                                     const smime::Credential& who, const std::vector<int>& ciphers) {
  ossl::BioPtr data(BIO_new_mem_buf(entity.data(), static_cast<int>(entity.size())));
  const unsigned flags = CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP;
  ossl::CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
  CMS_SignerInfo* si = cms ? CMS_add1_signer(cms.get(), who.cert.get(), who.key.get(), EVP_sha256(), flags) : nullptr;
  if (si == nullptr) throw std::runtime_error("CMS_add1_signer");
  STACK_OF(X509_ALGOR)* algs = sk_X509_ALGOR_new_null();
  for (int nid : ciphers) CMS_add_simple_smimecap(&algs, nid, -1);
  const int added = CMS_add_smimecap(si, algs);
  sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
  if (added != 1) throw std::runtime_error("CMS_add_smimecap");
  for (const auto& c : who.chain) CMS_add1_cert(cms.get(), c.get());
  if (CMS_final(cms.get(), data.get(), nullptr, CMS_BINARY) != 1) throw std::runtime_error("CMS_final");
  ossl::BioPtr out(BIO_new(BIO_s_mem()));
  ossl::BioPtr again(BIO_new_mem_buf(entity.data(), static_cast<int>(entity.size())));
  if (SMIME_write_CMS(out.get(), cms.get(), again.get(), CMS_BINARY | SMIME_CRLFEOL) != 1) {
    throw std::runtime_error("SMIME_write_CMS");
  }
  char* p = nullptr;
  const long n = BIO_get_mem_data(out.get(), &p);
  return headers + std::string(p, static_cast<std::size_t>(n));
}

TEST_F(CryptoTest, AutoCipherIsGcmOnlyForRecipientsKnownToSupportIt) {
  const std::string headers = "From: Dave <dave@partner.example>\r\nTo: alice@example.org\r\nSubject: Vertrag\r\n";
  const std::string entity = "Content-Type: text/plain; charset=us-ascii\r\n\r\nDer Vertrag liegt bei.\r\n";
  smime::Credential dave = credential(*dave_, *pki_);
  {
    MilterDriver d(filter());
    auto r = d.run(inbound_envelope(),
                   with_plan(signed_with_capabilities(headers, entity, dave, {NID_aes_256_gcm, NID_aes_256_cbc})));
    ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  }
  ASSERT_EQ(harvested().size(), 1u);
  EXPECT_EQ(harvested()[0].provenance->capabilities, (std::vector<std::string>{"aes256-gcm", "aes256-cbc"}));
  {
    keystore::KeyStore store(root_);
    auto sel = store.select_encryption_certificate("dave@partner.example");
    ASSERT_TRUE(sel.best);
    EXPECT_TRUE(sel.best->supports_gcm);
    EXPECT_FALSE(store.select_encryption_certificate("bob@partner.example").best->supports_gcm);
  }

  auto send = [&](const std::string& config, const std::vector<std::string>& rcpts) {
    const std::string original = outbound_message(seal(outbound_plan(rcpts)));
    MilterDriver d(filter(config));
    auto r = d.run(outbound_envelope(rcpts), original);
    EXPECT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
    const std::string out = delivered(original, r);
    smime::Credential key = rcpts.front() == "<dave@partner.example>" ? credential(*dave_, *pki_)
                                                                      : credential(*bob_, *pki_);
    keystore::KeyStore store(root_);
    ossl::X509StorePtr trust = store.verification_store();
    smime::Opened opened = smime::open_message(out, {.keys = {&key}, .trust = trust.get()});
    EXPECT_EQ(opened.status.failure, smime::Failure::none) << opened.status.detail;
    EXPECT_TRUE(opened.status.encrypted);
    return opened.status.authenticated_encryption;
  };
  EXPECT_TRUE(send("outbound: {cipher: auto}\n", {"<dave@partner.example>"}));
  EXPECT_FALSE(send("outbound: {cipher: auto}\n", {"<bob@partner.example>"}));
  EXPECT_FALSE(send("outbound: {cipher: auto}\n", {"<dave@partner.example>", "<bob@partner.example>"}));
  EXPECT_FALSE(send("", {"<dave@partner.example>"})) << "the default stays aes256-cbc";
}

// A real client's signature: `openssl cms -sign` lists CBC ciphers but not
// GCM in its SMIMECapabilities, so its signer is harvested as not known to
// support GCM.
TEST_F(CryptoTest, AnOpensslCmsSignatureIsHarvestedWithItsCapabilities) {
  REQUIRE_OPENSSL();
  testing::write_file(dir_ / "entity.txt", "Content-Type: text/plain; charset=us-ascii\r\n\r\nDer Vertrag liegt bei.\r\n");
  testing::write_file(dir_ / "dave.pem", dave_->pem());
  testing::write_file(dir_ / "dave.key", dave_->key_pem(), 0600);
  testing::write_file(dir_ / "chain.pem", pki_->intermediate().pem());
  const std::string d_ = dir_.string();
  ASSERT_EQ(std::system(("openssl cms -sign -in " + d_ + "/entity.txt -signer " + d_ + "/dave.pem -inkey " + d_ +
                         "/dave.key -certfile " + d_ + "/chain.pem -crlfeol -out " + d_ + "/signed.eml 2>" + d_ +
                         "/err")
                            .c_str()),
            0)
      << slurp(dir_ / "err");
  const std::string message = "From: Dave <dave@partner.example>\r\nTo: alice@example.org\r\nSubject: Vertrag\r\n" +
                              slurp(dir_ / "signed.eml");
  MilterDriver d(filter("outbound: {cipher: auto}\n"));
  auto r = d.run(inbound_envelope(), with_plan(message));
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_NE(delivered(with_plan(message), r).find("signature=valid"), std::string::npos);
  ASSERT_EQ(harvested().size(), 1u);
  const auto caps = harvested()[0].provenance->capabilities;
  EXPECT_NE(std::find(caps.begin(), caps.end(), "aes256-cbc"), caps.end()) << ::testing::PrintToString(caps);
  EXPECT_EQ(std::find(caps.begin(), caps.end(), "aes256-gcm"), caps.end()) << ::testing::PrintToString(caps);
  EXPECT_NE(slurp(harvested()[0].file.replace_extension(".meta")).find("capabilities: aes256-cbc"), std::string::npos);
  keystore::KeyStore store(root_);
  auto sel = store.select_encryption_certificate("dave@partner.example");
  ASSERT_TRUE(sel.best);
  EXPECT_FALSE(sel.best->supports_gcm);
}

}  // namespace
}  // namespace postern::crypto
