// Certificates-only CMS and the attachment that carries it; the DER is
// also read by `openssl pkcs7` (the real judge).
#include "postern/smime/certs_only.hpp"

#include <gtest/gtest.h>

#include <openssl/cms.h>

#include <cstdlib>

#include "postern/mime/transfer_encoding.hpp"
#include "postern/smime/smime.hpp"
#include "smime_test_pki.hpp"

namespace postern::smime {
namespace {

using testing::TestPki;

const std::string kMessage =
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@example.org>\r\n"
    "Subject: hello\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Gr\xC3\xBC\xC3\x9F" "e, Bob.\r\n";

class CertsOnlyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new TestPki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  static TestPki& pki() { return *pki_; }
  static inline TestPki* pki_ = nullptr;
};

TEST_F(CertsOnlyTest, DerHoldsTheCertificatesAndNoSigner) {
  const Credential alice = pki().credential("alice");
  ossl::X509Ptr root = pki().certificate("root.pem");
  const std::string der = certs_only_der({alice.cert.get(), alice.chain.front().get(), root.get()});
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(cms);
  EXPECT_EQ(OBJ_obj2nid(CMS_get0_type(cms.get())), NID_pkcs7_signed);
  EXPECT_EQ(sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms.get())), 0);
  STACK_OF(X509)* certs = CMS_get1_certs(cms.get());
  ASSERT_NE(certs, nullptr);
  EXPECT_EQ(sk_X509_num(certs), 3);
  // A SET OF in DER: sorted by encoding, not in the order given.
  int alices = 0;
  for (int i = 0; i < sk_X509_num(certs); ++i) alices += X509_cmp(sk_X509_value(certs, i), alice.cert.get()) == 0;
  EXPECT_EQ(alices, 1);
  sk_X509_pop_free(certs, X509_free);

  // openssl reads it as a PKCS#7 certificates bag.
  testing::write_file(pki().path("alice.p7c"), der);
  ASSERT_EQ(testing::run("openssl pkcs7 -inform DER -in " + pki().path("alice.p7c") + " -print_certs -out " +
                         pki().path("alice.p7c.txt")),
            0);
  const std::string printed = testing::read_file(pki().path("alice.p7c.txt"));
  EXPECT_NE(printed.find("alice@example.org"), std::string::npos) << printed;
  EXPECT_NE(printed.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
}

TEST_F(CertsOnlyTest, NoCertificateIsBadInput) {
  try {
    certs_only_der({});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.failure(), Failure::bad_input);
  }
}

TEST_F(CertsOnlyTest, PartIsAnAttachedP7cWhoseBase64IsTheDer) {
  const Credential alice = pki().credential("alice");
  const std::string part = certs_only_part({alice.cert.get()});
  const std::string head =
      "Content-Type: application/pkcs7-mime; smime-type=certs-only; name=\"smime.p7c\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7c\"\r\n\r\n";
  ASSERT_EQ(part.compare(0, head.size(), head), 0) << part;
  const auto der = mime::decode_base64(part.substr(head.size()));
  ASSERT_TRUE(der);
  EXPECT_EQ(*der, certs_only_der({alice.cert.get()}));
  for (std::size_t i = head.size(); i < part.size(); ++i) {
    if (part[i] == '\n') {
      ASSERT_EQ(part[i - 1], '\r') << "bare LF at " << i;
    }
  }
}

TEST_F(CertsOnlyTest, AttachWrapsTheBodyByteForByteInMultipartMixed) {
  const std::string part = "Content-Type: text/plain\r\n\r\nthe part\r\n";
  const std::string out = attach_part(kMessage, part);
  EXPECT_EQ(out.rfind("From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: hello\r\n"
                      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"",
                      0),
            0u)
      << out;
  const std::size_t b = out.find("boundary=\"") + 10;
  const std::string boundary = out.substr(b, out.find('"', b) - b);
  const std::string first = "--" + boundary +
                            "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                            "Gr\xC3\xBC\xC3\x9F" "e, Bob.\r\n\r\n--" + boundary + "\r\n" + part + "--" + boundary +
                            "--\r\n";
  ASSERT_GE(out.size(), first.size());
  EXPECT_EQ(out.substr(out.size() - first.size()), first);
  EXPECT_EQ(out.find("Content-Type: text/plain; charset=utf-8", 0), out.find(first) + boundary.size() + 4)
      << "the original Content-Type only inside";
}

TEST_F(CertsOnlyTest, AttachWithoutMimeHeadersAddsMimeVersionOnly) {
  const std::string out = attach_part("Subject: plain\r\n\r\nline\r\n", "Content-Type: text/plain\r\n\r\nx");
  EXPECT_EQ(out.rfind("Subject: plain\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; ", 0), 0u) << out;
  const std::size_t b = out.find("boundary=\"") + 10;
  const std::string boundary = out.substr(b, out.find('"', b) - b);
  EXPECT_NE(out.find("--" + boundary + "\r\n\r\nline\r\n\r\n--" + boundary + "\r\nContent-Type: text/plain\r\n\r\nx\r\n--" +
                     boundary + "--\r\n"),
            std::string::npos)
      << out;
}

TEST_F(CertsOnlyTest, AttachedThenSignedVerifiesAndCarriesTheCertificates) {
  const Credential alice = pki().credential("alice");
  const std::string attached = attach_part(kMessage, certs_only_part({alice.cert.get(), alice.chain.front().get()}));
  const std::string signed_message = sign_message(attached, alice);
  OpenOptions o;
  o.trust = pki().store();
  const Opened opened = open_message(signed_message, o);
  ASSERT_EQ(opened.status.failure, Failure::none) << opened.status.detail;
  ASSERT_EQ(opened.status.signatures.size(), 1u);
  EXPECT_EQ(opened.status.signatures[0].verdict, Verdict::valid) << opened.status.signatures[0].reason;
  EXPECT_NE(opened.message.find("smime-type=certs-only"), std::string::npos);
  EXPECT_NE(opened.message.find("multipart/mixed"), std::string::npos);
}

TEST_F(CertsOnlyTest, AttachRefusesAMessageWithoutHeader) {
  EXPECT_THROW(attach_part("", "Content-Type: text/plain\r\n\r\nx"), Error);
}

}  // namespace
}  // namespace postern::smime
