// Round trips through sign/encrypt and open_message, and bad input.
#include "postern/smime/smime.hpp"

#include <gtest/gtest.h>

#include <openssl/pem.h>

#include <ctime>
#include <memory>

#include "postern/mime/transfer_encoding.hpp"
#include "smime_test_pki.hpp"

namespace postern::smime {
namespace {

using testing::TestPki;

const std::string kMessage =
    "Received: from a.example by b.example; Tue, 1 Jan 2030 00:00:00 +0000\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@example.org>\r\n"
    "Subject: The secret plan\r\n"
    "Date: Tue, 1 Jan 2030 00:00:00 +0000\r\n"
    "Message-ID: <1@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Gr\xC3\xBC\xC3\x9F" "e, Bob.\r\n"
    "From the start.\r\n";

class SmimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static TestPki& pki() { return *pki_; }

  OpenOptions options(std::vector<const Credential*> keys = {}) const {
    OpenOptions o;
    o.keys = std::move(keys);
    o.trust = pki().store();
    return o;
  }

  static std::string body_of(const std::string& message) { return message.substr(message.find("\r\n\r\n") + 4); }

 private:
  static TestPki* pki_;
};

TestPki* SmimeTest::pki_ = nullptr;

TEST_F(SmimeTest, DetachedSignatureRoundTrip) {
  const Credential alice = pki().credential("alice");
  const std::string signed_message = sign_message(kMessage, alice);
  EXPECT_NE(signed_message.find("Subject: The secret plan\r\n"), std::string::npos);
  EXPECT_NE(signed_message.find("multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256"),
            std::string::npos);
  EXPECT_NE(signed_message.find("Content-Transfer-Encoding: quoted-printable"), std::string::npos);
  for (char c : signed_message) ASSERT_LT(static_cast<unsigned char>(c), 0x80);

  const Opened opened = open_message(signed_message, options());
  ASSERT_EQ(opened.status.failure, Failure::none) << opened.status.detail;
  ASSERT_EQ(opened.status.signatures.size(), 1U);
  const SignatureResult& sig = opened.status.signatures.front();
  EXPECT_EQ(sig.verdict, Verdict::valid) << sig.reason;
  EXPECT_TRUE(sig.address_matches);
  EXPECT_FALSE(sig.opaque);
  EXPECT_EQ(sig.addresses, std::vector<std::string>{"alice@example.org"});
  EXPECT_TRUE(opened.status.all_signatures_good());
  EXPECT_FALSE(opened.status.encrypted);
  EXPECT_EQ(opened.status.certificates.size(), 2U);  // signer and intermediate
  ASSERT_TRUE(sig.signer);
  EXPECT_EQ(X509_cmp(sig.signer.get(), alice.cert.get()), 0);
  EXPECT_EQ(mime::decode_quoted_printable(body_of(opened.message)), "Gr\xC3\xBC\xC3\x9F" "e, Bob.\r\nFrom the start.\r\n");
  EXPECT_NE(opened.message.find("Subject: The secret plan\r\n"), std::string::npos);
}

TEST_F(SmimeTest, OpaqueEcdsaSignatureRoundTrip) {
  const Credential bob = pki().credential("bob");
  const std::string message = "From: bob@example.org\r\nSubject: x\r\n\r\nplain body\r\n";
  const std::string out = sign_message(message, bob, {.format = SignFormat::opaque});
  EXPECT_NE(out.find("smime-type=signed-data"), std::string::npos);
  const Opened opened = open_message(out, options());
  ASSERT_EQ(opened.status.failure, Failure::none) << opened.status.detail;
  ASSERT_EQ(opened.status.signatures.size(), 1U);
  EXPECT_EQ(opened.status.signatures[0].verdict, Verdict::valid) << opened.status.signatures[0].reason;
  EXPECT_TRUE(opened.status.signatures[0].opaque);
  EXPECT_TRUE(opened.status.all_signatures_good());
  EXPECT_EQ(body_of(opened.message), "plain body\r\n");
}

TEST_F(SmimeTest, EncryptForSeveralRecipientsCbcRsaAndEcdh) {
  const Credential alice = pki().credential("alice");
  const Credential bob = pki().credential("bob");
  const Credential carol = pki().credential("carol");
  const std::string out = encrypt_message(kMessage, {alice.cert.get(), bob.cert.get()});
  EXPECT_NE(out.find("smime-type=enveloped-data"), std::string::npos);
  EXPECT_EQ(out.find("Gr\xC3\xBC"), std::string::npos);
  EXPECT_EQ(out.find("Subject: The secret plan"), out.find("Subject:"));  // no header protection asked for
  for (const Credential* key : {&alice, &bob}) {
    const Opened opened = open_message(out, options({&carol, key}));
    ASSERT_EQ(opened.status.failure, Failure::none) << opened.status.detail;
    EXPECT_TRUE(opened.status.encrypted);
    EXPECT_FALSE(opened.status.authenticated_encryption);
    EXPECT_FALSE(opened.status.is_signed());
    EXPECT_NE(opened.message.find("Content-Transfer-Encoding: quoted-printable"), std::string::npos);
    EXPECT_NE(opened.message.find("Subject: The secret plan"), std::string::npos);
  }
  const Opened nobody = open_message(out, options({&carol}));
  EXPECT_EQ(nobody.status.failure, Failure::no_key);
  EXPECT_EQ(nobody.message, out);
}

TEST_F(SmimeTest, AuthEnvelopedGcmAndOaep) {
  const Credential alice = pki().credential("alice");
  const Credential bob = pki().credential("bob");
  const std::string out = encrypt_message(kMessage, {alice.cert.get(), bob.cert.get()},
                                          {.cipher = ContentCipher::aes256_gcm, .rsa_padding = RsaPadding::oaep});
  EXPECT_NE(out.find("smime-type=authEnveloped-data"), std::string::npos);
  for (const Credential* key : {&alice, &bob}) {
    const Opened opened = open_message(out, options({key}));
    ASSERT_EQ(opened.status.failure, Failure::none) << opened.status.detail;
    EXPECT_TRUE(opened.status.authenticated_encryption);
  }
}

TEST_F(SmimeTest, SignThenEncryptWithHeaderProtection) {
  const Credential alice = pki().credential("alice");
  const Credential bob = pki().credential("bob");
  const std::string out = sign_and_encrypt_message(kMessage, alice, {bob.cert.get(), alice.cert.get()}, {},
                                                   {.header_protection = {.enabled = true, .placeholder_subject = "[protected]"}});
  EXPECT_NE(out.find("Subject: [protected]\r\n"), std::string::npos);
  EXPECT_EQ(out.find("secret plan"), std::string::npos);

  // One layer: the decrypted entity is the signed one.
  SecurityStatus step;
  const std::string inner = open_entity(out, options({&bob}), step);
  ASSERT_EQ(step.failure, Failure::none) << step.detail;
  EXPECT_EQ(inner.rfind("Content-Type: multipart/signed", 0), 0U);

  const Opened opened = open_message(out, options({&bob}));
  ASSERT_EQ(opened.status.failure, Failure::none) << opened.status.detail;
  EXPECT_EQ(opened.status.layers, 2);
  EXPECT_TRUE(opened.status.encrypted);
  EXPECT_TRUE(opened.status.header_protection);
  EXPECT_TRUE(opened.status.all_signatures_good());
  EXPECT_NE(opened.message.find("Subject: The secret plan\r\n"), std::string::npos);
  EXPECT_EQ(opened.message.find("[protected]"), std::string::npos);
  EXPECT_NE(opened.message.find("hp=\"cipher\""), std::string::npos);
  EXPECT_NE(opened.message.find("Received: from a.example"), std::string::npos);
}

TEST_F(SmimeTest, KeepSignedLayersLeavesTheSignatureForTheReader) {
  const Credential alice = pki().credential("alice");
  const Credential bob = pki().credential("bob");
  const std::string out = sign_and_encrypt_message(kMessage, alice, {bob.cert.get()}, {},
                                                   {.header_protection = {.enabled = true, .placeholder_subject = "[protected]"}});
  OpenOptions keep = options({&bob});
  keep.keep_signed_layers = true;
  const Opened opened = open_message(out, keep);
  ASSERT_EQ(opened.status.failure, Failure::none) << opened.status.detail;
  EXPECT_EQ(opened.status.layers, 2);
  EXPECT_TRUE(opened.status.all_signatures_good());
  // Decrypted, the signed entity delivered, the protected Subject restored.
  EXPECT_NE(opened.message.find("Content-Type: multipart/signed"), std::string::npos);
  const std::string outer = opened.message.substr(0, opened.message.find("\r\n\r\n"));
  EXPECT_NE(outer.find("Subject: The secret plan\r\n"), std::string::npos) << outer;
  EXPECT_EQ(outer.find("[protected]"), std::string::npos) << outer;
  EXPECT_EQ(opened.message.find("enveloped-data"), std::string::npos);
  // What was kept verifies again on its own.
  const Opened again = open_message(opened.message, options());
  ASSERT_EQ(again.status.failure, Failure::none) << again.status.detail;
  EXPECT_FALSE(again.status.encrypted);
  EXPECT_TRUE(again.status.all_signatures_good());

  // A message that is only signed comes back byte for byte.
  const std::string signed_only = sign_message(kMessage, alice);
  const Opened same = open_message(signed_only, keep);
  ASSERT_EQ(same.status.failure, Failure::none) << same.status.detail;
  EXPECT_EQ(same.message, signed_only);
  // Encrypted only: nothing to keep, the plaintext is delivered.
  const Opened plain = open_message(encrypt_message(kMessage, {bob.cert.get()}), keep);
  ASSERT_EQ(plain.status.failure, Failure::none) << plain.status.detail;
  EXPECT_EQ(plain.message.find("multipart/signed"), std::string::npos);
  EXPECT_NE(plain.message.find("Subject: The secret plan"), std::string::npos);
}

TEST_F(SmimeTest, TamperedContentIsBadSignature) {
  const Credential alice = pki().credential("alice");
  std::string out = sign_message("From: alice@example.org\r\n\r\nPay 10 EUR\r\n", alice);
  out.replace(out.find("Pay 10"), 6, "Pay 90");
  const Opened opened = open_message(out, options());
  ASSERT_EQ(opened.status.failure, Failure::none) << opened.status.detail;
  ASSERT_EQ(opened.status.signatures.size(), 1U);
  EXPECT_EQ(opened.status.signatures[0].verdict, Verdict::bad_signature);
  EXPECT_FALSE(opened.status.all_signatures_good());
}

TEST_F(SmimeTest, LostCarriageReturnsStillVerify) {
  const Credential alice = pki().credential("alice");
  std::string out = sign_message("From: alice@example.org\r\n\r\nline one\r\nline two\r\n", alice);
  std::string lf;
  for (char c : out) {
    if (c != '\r') lf.push_back(c);
  }
  const Opened opened = open_message(lf, options());
  ASSERT_EQ(opened.status.signatures.size(), 1U);
  EXPECT_EQ(opened.status.signatures[0].verdict, Verdict::valid) << opened.status.signatures[0].reason;
}

TEST_F(SmimeTest, TrustTimeUsageAndAddressAreChecked) {
  const Credential alice = pki().credential("alice");
  const std::string out = sign_message("From: Someone <ceo@example.org>\r\n\r\nhi\r\n", alice);

  OpenOptions o = options();
  Opened opened = open_message(out, o);
  ASSERT_EQ(opened.status.signatures.size(), 1U);
  EXPECT_EQ(opened.status.signatures[0].verdict, Verdict::valid);
  EXPECT_FALSE(opened.status.signatures[0].address_matches);  // From is ceo@, the cert is alice@
  EXPECT_FALSE(opened.status.all_signatures_good());

  o.from_address = "Alice@Example.ORG";
  EXPECT_TRUE(open_message(out, o).status.all_signatures_good());

  o.trust = nullptr;
  EXPECT_EQ(open_message(out, o).status.signatures.at(0).verdict, Verdict::untrusted);

  ossl::X509StorePtr other(X509_STORE_new());  // trusts only the intermediate's sibling: alice's own cert
  X509_STORE_add_cert(other.get(), pki().certificate("carol.crt").get());
  o.trust = other.get();
  EXPECT_EQ(open_message(out, o).status.signatures.at(0).verdict, Verdict::untrusted);

  o.trust = pki().store();
  o.at = std::time(nullptr) + 3L * 365 * 24 * 3600;
  EXPECT_EQ(open_message(out, o).status.signatures.at(0).verdict, Verdict::expired);

  o.at = 0;
  const Credential mallory = pki().credential("mallory");
  const std::string bad_usage = sign_message("From: mallory@example.org\r\n\r\nhi\r\n", mallory);
  const Opened m = open_message(bad_usage, o);
  ASSERT_EQ(m.status.signatures.size(), 1U);
  EXPECT_EQ(m.status.signatures[0].verdict, Verdict::wrong_usage) << m.status.signatures[0].reason;
}

TEST_F(SmimeTest, CrlInTheStoreRevokes) {
  // The caller's hook: CRLs in the store and X509_V_FLAG_CRL_CHECK.
  const Credential carol = pki().credential("carol");
  const std::string d = pki().dir();
  ASSERT_EQ(testing::run("cd " + d + " && : > index.txt && printf 'default_md = sha256\\ndatabase = index.txt\\n"
                         "crlnumber = crlnum\\n' > crl.cnf && echo 01 > crlnum && "
                         "printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\ncrlnumber=crlnum\\n"
                         "default_md=sha256\\ndefault_crl_days=30\\n' > ca.cnf && "
                         "openssl ca -config ca.cnf -revoke carol.crt -keyfile inter.key -cert chain.pem >/dev/null 2>&1 && "
                         "openssl ca -config ca.cnf -gencrl -keyfile inter.key -cert chain.pem -out inter.crl >/dev/null 2>&1 && "
                         "openssl ca -config ca.cnf -gencrl -keyfile root.key -cert root.pem -out root.crl >/dev/null 2>&1"),
            0);
  ossl::X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), pki().certificate("root.pem").get());
  for (const char* file : {"inter.crl", "root.crl"}) {
    ossl::BioPtr bio(BIO_new_file((d + "/" + file).c_str(), "r"));
    ASSERT_TRUE(bio);
    ossl::X509CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    ASSERT_TRUE(crl);
    X509_STORE_add_crl(store.get(), crl.get());
  }
  X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  OpenOptions o = options();
  o.trust = store.get();
  const Opened opened = open_message(sign_message("From: carol@example.org\r\n\r\nhi\r\n", carol), o);
  ASSERT_EQ(opened.status.signatures.size(), 1U);
  EXPECT_EQ(opened.status.signatures[0].verdict, Verdict::revoked) << opened.status.signatures[0].reason;
}

TEST_F(SmimeTest, WrongKeyForTheRightCertificateFailsToDecrypt) {
  const Credential alice = pki().credential("alice");
  Credential impostor = pki().credential("alice");
  impostor.key = std::move(pki().credential("carol").key);
  const std::string out = encrypt_message(kMessage, {alice.cert.get()});
  const Opened opened = open_message(out, options({&impostor}));
  EXPECT_EQ(opened.status.failure, Failure::decrypt_failed) << opened.status.detail;
  EXPECT_EQ(opened.message, out);
}

TEST_F(SmimeTest, MismatchedSignerKeyIsRefused) {
  Credential bad = pki().credential("alice");
  bad.key = std::move(pki().credential("carol").key);
  try {
    sign_message(kMessage, bad);
    FAIL() << "signed with a key that is not the certificate's";
  } catch (const Error& e) {
    EXPECT_EQ(e.failure(), Failure::bad_credentials);
  }
  EXPECT_THROW(encrypt_message(kMessage, {}), Error);
  EXPECT_THROW(sign_message("no header block", pki().credential("alice")), Error);
}

TEST_F(SmimeTest, HeaderOnlyMessageIsSigned) {
  const std::string out = sign_message("From: alice@example.org\r\nSubject: empty", pki().credential("alice"));
  const Opened opened = open_message(out, options());
  ASSERT_EQ(opened.status.failure, Failure::none) << opened.status.detail;
  EXPECT_TRUE(opened.status.all_signatures_good());
  EXPECT_NE(opened.message.find("Content-Type: text/plain; charset=us-ascii\r\n\r\n"), std::string::npos);
}

TEST_F(SmimeTest, PlainMessageIsNotProtected) {
  const Opened opened = open_message(kMessage, options());
  EXPECT_EQ(opened.status.failure, Failure::not_protected);
  EXPECT_EQ(opened.message, kMessage);
}

TEST_F(SmimeTest, DamagedInputGivesATypedStatus) {
  const Credential alice = pki().credential("alice");
  const std::string good = encrypt_message(kMessage, {alice.cert.get()});
  const std::size_t body = good.find("\r\n\r\n") + 4;
  OpenOptions o = options({&alice});

  std::string truncated = good.substr(0, body + (good.size() - body) / 2);
  EXPECT_EQ(open_message(truncated, o).status.failure, Failure::malformed);

  std::string bad_char = good;
  bad_char[body + 10] = '*';
  EXPECT_EQ(open_message(bad_char, o).status.failure, Failure::malformed);

  // Valid base64, flipped ciphertext byte near the end: CBC padding or the
  // content fails, or garbage comes out; never a crash.
  std::string der = *mime::decode_base64(good.substr(body));
  der[der.size() - 5] = static_cast<char>(der[der.size() - 5] ^ 0x55);
  const std::string flipped = good.substr(0, body) + mime::encode_base64(der, 64);
  const Failure f = open_message(flipped, o).status.failure;
  EXPECT_TRUE(f == Failure::decrypt_failed || f == Failure::malformed || f == Failure::none) << to_string(f);

  // GCM notices any change.
  const std::string gcm = encrypt_message(kMessage, {alice.cert.get()}, {.cipher = ContentCipher::aes256_gcm});
  std::string gder = *mime::decode_base64(gcm.substr(gcm.find("\r\n\r\n") + 4));
  gder[gder.size() - 40] = static_cast<char>(gder[gder.size() - 40] ^ 0x01);
  EXPECT_EQ(open_message(gcm.substr(0, gcm.find("\r\n\r\n") + 4) + mime::encode_base64(gder, 64), o).status.failure,
            Failure::decrypt_failed);

  const std::string header = "From: a@example.org\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n"
                             "Content-Transfer-Encoding: base64\r\n\r\n";
  EXPECT_EQ(open_message(header + "AAAA\r\n", o).status.failure, Failure::malformed);
  EXPECT_EQ(open_message(header + mime::encode_base64(std::string(5000, '\x30')), o).status.failure, Failure::malformed);
  // CompressedData (RFC 3274): a CMS type we do not open.
  const std::string compressed_der = std::string("\x30\x0d\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10\x01\x09", 15);
  const Failure c = open_message(header + mime::encode_base64(compressed_der), o).status.failure;
  EXPECT_TRUE(c == Failure::unsupported || c == Failure::malformed) << to_string(c);

  const std::string sig_header =
      "From: a@example.org\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\n";
  EXPECT_EQ(open_message(sig_header + "--b\r\n\r\nx\r\n--b--\r\n", o).status.failure, Failure::malformed);
  EXPECT_EQ(open_message(sig_header + "--b\r\n\r\nx\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n"
                                      "Content-Transfer-Encoding: base64\r\n\r\nMIIB\r\n--b--\r\n", o)
                .status.failure,
            Failure::malformed);
  const std::string pgp = "From: a@example.org\r\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\"; "
                          "boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b\r\n\r\ny\r\n--b--\r\n";
  EXPECT_EQ(open_message(pgp, o).status.failure, Failure::unsupported);
}

TEST_F(SmimeTest, UnavailableCipherIsUnsupported) {
  // RC2 lives in OpenSSL 3's legacy provider, which this library does not load.
  const Credential alice = pki().credential("alice");
  const std::string d = pki().dir();
  testing::write_file(d + "/rc2.in", "Content-Type: text/plain\r\n\r\nold\r\n");
  ASSERT_EQ(testing::run("openssl cms -encrypt -provider legacy -provider default -rc2-40 -in " + d + "/rc2.in -out " +
                         d + "/rc2.eml " + d + "/alice.crt 2>/dev/null"),
            0);
  const Opened opened = open_message("From: a@example.org\r\n" + testing::read_file(d + "/rc2.eml"), options({&alice}));
  EXPECT_EQ(opened.status.failure, Failure::unsupported) << opened.status.detail;
}

TEST_F(SmimeTest, DeepNestingAndHugeInputAreLimited) {
  std::string deep = "From: a@example.org\r\n";
  for (int i = 0; i < 500; ++i) deep += "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
  deep += "\r\nx\r\n";
  EXPECT_EQ(open_message(deep, options()).status.failure, Failure::too_large);

  OpenOptions o = options();
  o.max_size = 1000;
  const std::string big = "From: a@example.org\r\nContent-Type: application/pkcs7-mime\r\n\r\n" + std::string(5000, 'A');
  EXPECT_EQ(open_message(big, o).status.failure, Failure::too_large);

  // Layers inside layers: signing a signed message ten times.
  const Credential alice = pki().credential("alice");
  std::string nested = "From: alice@example.org\r\n\r\nhi\r\n";
  for (int i = 0; i < 6; ++i) nested = sign_message(nested, alice, {.format = SignFormat::opaque});
  o = options();
  o.max_layers = 4;
  EXPECT_EQ(open_message(nested, o).status.failure, Failure::too_large);
  o.max_layers = 6;
  const Opened ok = open_message(nested, o);
  EXPECT_EQ(ok.status.failure, Failure::none) << ok.status.detail;
  EXPECT_EQ(ok.status.signatures.size(), 6U);
}

TEST_F(SmimeTest, LargeMessageRoundTrip) {
  const Credential alice = pki().credential("alice");
  std::string big = "From: alice@example.org\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n";
  std::string raw(3 << 20, '\0');
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>((i * 7919) >> 3);
  big += mime::encode_base64(raw, 76);
  const std::string out = sign_and_encrypt_message(big, alice, {alice.cert.get()});
  const Opened opened = open_message(out, options({&alice}));
  ASSERT_EQ(opened.status.failure, Failure::none) << opened.status.detail;
  EXPECT_TRUE(opened.status.all_signatures_good());
  EXPECT_EQ(*mime::decode_base64(body_of(opened.message)), raw);
}

// The *_to forms hand the same kind of output to a sink in pieces: CRLF
// base64 lines (no bare LF, also across pieces), and it opens like the
// string form's.
TEST_F(SmimeTest, StreamedOutputMatchesTheStringForm) {
  const Credential alice = pki().credential("alice");
  const Credential bob = pki().credential("bob");
  std::string big = kMessage;
  for (int i = 0; i < 20000; ++i) big += "Line " + std::to_string(i) + " of the streamed body.\r\n";
  for (const SignFormat format : {SignFormat::detached, SignFormat::opaque}) {
    std::string out;
    std::size_t pieces = 0;
    sign_and_encrypt_message_to(
        [&](std::string_view piece) {
          out += piece;
          ++pieces;
        },
        big, alice, {bob.cert.get()}, {.format = format});
    EXPECT_GT(pieces, 10U);
    const std::string reference = sign_and_encrypt_message(big, alice, {bob.cert.get()}, {.format = format});
    // Same header block and (random IV and key aside) the same length.
    EXPECT_EQ(out.substr(0, out.find("\r\n\r\n")), reference.substr(0, reference.find("\r\n\r\n")));
    EXPECT_EQ(out.size(), reference.size());
    for (std::size_t i = out.find('\n'); i != std::string::npos; i = out.find('\n', i + 1)) {
      ASSERT_EQ(out[i - 1], '\r') << "bare LF at " << i;
    }
    const Opened opened = open_message(out, options({&bob}));
    ASSERT_EQ(opened.status.failure, Failure::none) << opened.status.detail;
    EXPECT_TRUE(opened.status.encrypted);
    EXPECT_TRUE(opened.status.all_signatures_good());
    EXPECT_NE(opened.message.find("Line 19999 of the streamed body.\r\n"), std::string::npos);
  }

  std::string encrypted;
  encrypt_message_to([&](std::string_view piece) { encrypted += piece; }, kMessage, {bob.cert.get()},
                     {.cipher = ContentCipher::aes256_gcm});
  EXPECT_NE(encrypted.find("authEnveloped-data"), std::string::npos);
  const Opened opened = open_message(encrypted, options({&bob}));
  ASSERT_EQ(opened.status.failure, Failure::none) << opened.status.detail;
  EXPECT_NE(opened.message.find("the start.\r\n"), std::string::npos);
}

TEST_F(SmimeTest, SinkFailureStopsTheStream) {
  const Credential alice = pki().credential("alice");
  std::string big = kMessage;
  big.append(1 << 20, 'x');
  std::size_t taken = 0;
  const Sink full_disk = [&](std::string_view piece) {
    if (taken > 100000) throw std::runtime_error("spool full");
    taken += piece.size();
  };
  EXPECT_THROW(
      {
        try {
          sign_and_encrypt_message_to(full_disk, big, alice, {alice.cert.get()});
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "spool full");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_LT(taken, std::size_t{200000});
  // A recipient list that cannot be used fails before anything is written.
  taken = 0;
  EXPECT_THROW(encrypt_message_to(full_disk, kMessage, {}), Error);
  EXPECT_EQ(taken, 0U);
}

}  // namespace
}  // namespace postern::smime
