// postern-crypto and a plan's send_keys ({send_keys} subject commands):
// the sender's certificate and CA chain leave as a certs-only smime.p7c
// attachment, before signing; `openssl pkcs7` and `openssl cms` are the
// judges of what was attached and signed.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "crypto_files.hpp"
#include "postern/config/config.hpp"
#include "postern/crypto/crypto_filter.hpp"
#include "postern/crypto/settings.hpp"
#include "postern/keystore/key_store.hpp"
#include "postern/log/log.hpp"
#include "postern/mime/transfer_encoding.hpp"
#include "postern/plan/sealer.hpp"
#include "postern/testing/delivered.hpp"
#include "postern/testing/milter_driver.hpp"
#include "postern/testing/test_pki.hpp"

namespace postern::crypto {
namespace {

namespace fs = std::filesystem;
using milter::Status;

constexpr char kQueueId[] = "4Q2x1B0kzNz";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool have_openssl() { return std::system("openssl version >/dev/null 2>&1") == 0; }

#define REQUIRE_OPENSSL()                                                                  \
  do {                                                                                     \
    if (!have_openssl()) {                                                                 \
      const char* all = std::getenv("POSTERN_REQUIRE_ALL");                                \
      if (all != nullptr && std::string(all) == "1") FAIL() << "openssl is not installed"; \
      GTEST_SKIP() << "openssl is not installed";                                          \
    }                                                                                      \
  } while (false)

std::string delivered(const std::string& original, const testing::MessageResult& r) {
  return testing::delivered_message(original, r);
}

// The decoded content of the smime.p7c part, "" when there is none.
std::string p7c_of(const std::string& message) {
  const std::size_t type = message.find("smime-type=certs-only");
  if (type == std::string::npos) return "";
  const std::size_t start = message.find("\r\n\r\n", type);
  const std::size_t end = message.find("\r\n--", start);
  if (start == std::string::npos || end == std::string::npos) return "";
  return mime::decode_base64(message.substr(start + 4, end - start - 4)).value_or("");
}

class SendKeysTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new testing::TestPki("Postern SendKeys Test", testing::KeyType::p256);
    alice_ = new testing::Issued(pki_->issue({.common_name = "Alice", .emails = {"alice@example.org"}}));
  }
  static void TearDownTestSuite() {
    delete alice_;
    delete pki_;
  }
  void SetUp() override {
    log::init("postern-crypto", log::Sink::none);
    char tmpl[] = "/tmp/postern-send-keys-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    files_.emplace(dir_, *pki_);
    files_->import(alice_->pkcs12("pw", pki_->chain()), {.password = std::string("pw"), .anchor = false, .source = "test"});
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<const milter::Filter> filter() const {
    return files_->filter();
  }

  std::string message(plan::SendKeys keys, bool sign, const std::string& from = "alice@example.org") const {
    plan::Plan p;
    p.recipients = {"<bob@partner.example>"};
    p.send_keys = keys;
    p.sign = sign;
    const std::string sealed = files_->sealed(p);
    return "Received: from client by mx\r\nX-Postern-Plan: " + sealed + "\r\nFrom: <" + from +
           ">\r\nTo: bob@partner.example\r\nSubject: hello\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nHallo Bob.\r\n";
  }

  testing::MessageResult run(const std::string& original, const std::string& sender = "<alice@example.org>") const {
    testing::Envelope e;
    e.sender = sender;
    e.recipients = {"<bob@partner.example>"};
    e.macros = {{"i", kQueueId}};
    testing::MilterDriver d(filter());
    return d.run(e, original);
  }

  // `openssl pkcs7 -print_certs` of the DER: its output, "" on failure.
  std::string print_certs(const std::string& der) const {
    testing::write_file(dir_ / "keys.p7c", der);
    const std::string d = dir_.string();
    if (std::system(("openssl pkcs7 -inform DER -in " + d + "/keys.p7c -print_certs -noout -out " + d +
                     "/certs.txt 2>" + d + "/err")
                        .c_str()) != 0) {
      ADD_FAILURE() << slurp(dir_ / "err");
      return "";
    }
    return slurp(dir_ / "certs.txt");
  }

  static inline testing::TestPki* pki_ = nullptr;
  static inline testing::Issued* alice_ = nullptr;
  fs::path dir_;
  std::optional<CryptoFiles> files_;
};

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(SendKeysTest, SmimeAttachesTheSenderCertificateAndItsCaChain) {
  const std::string original = message(plan::SendKeys::smime, false);
  auto r = run(original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  ASSERT_TRUE(r.body_replaced);
  const std::string out = delivered(original, r);
  EXPECT_NE(out.find("Content-Type: multipart/mixed; boundary="), std::string::npos) << out;
  EXPECT_NE(out.find("Content-Type: text/plain; charset=utf-8\r\n\r\nHallo Bob.\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Content-Type: application/pkcs7-mime; smime-type=certs-only; name=\"smime.p7c\"\r\n"
                     "Content-Transfer-Encoding: base64\r\n"
                     "Content-Disposition: attachment; filename=\"smime.p7c\"\r\n"),
            std::string::npos);
  EXPECT_EQ(out.find("X-Postern-Plan"), std::string::npos);
  // Only the plan goes and Content-Type changes: the other fields stay.
  for (const std::string& line : r.transcript) {
    if (line.rfind("change_header", 0) != 0 && line.rfind("add_header", 0) != 0 &&
        line.rfind("delete_header", 0) != 0 && line.rfind("insert_header", 0) != 0) {
      continue;
    }
    EXPECT_TRUE(line.rfind("delete_header \"X-Postern-Plan\" 1", 0) == 0 ||
                line.rfind("change_header \"Content-Type\" 1 \" multipart/mixed;", 0) == 0)
        << line;
  }
  const std::string der = p7c_of(out);
  ASSERT_FALSE(der.empty()) << out;

  REQUIRE_OPENSSL();
  const std::string certs = print_certs(der);
  EXPECT_EQ(count(certs, "subject="), 3) << certs;  // alice, the intermediate, the root
  EXPECT_NE(certs.find("CN = Alice"), std::string::npos) << certs;
  // The root is there: one certificate whose subject is its issuer.
  std::istringstream lines(certs);
  std::string line, subject;
  int self_issued = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("subject=", 0) == 0) subject = line.substr(8);
    if (line.rfind("issuer=", 0) == 0 && line.substr(7) == subject) ++self_issued;
  }
  EXPECT_EQ(self_issued, 1) << certs;
}

TEST_F(SendKeysTest, AttachedBeforeSigningSoTheSignatureCoversIt) {
  const std::string original = message(plan::SendKeys::all, true);
  auto r = run(original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  const std::string out = delivered(original, r);
  ASSERT_NE(out.find("Content-Type: multipart/signed"), std::string::npos) << out;

  REQUIRE_OPENSSL();
  testing::write_file(dir_ / "out.eml", out);
  testing::write_file(dir_ / "root.pem", pki_->root().pem());
  const std::string d = dir_.string();
  ASSERT_EQ(std::system(("openssl cms -verify -in " + d + "/out.eml -CAfile " + d + "/root.pem -out " + d +
                         "/content.eml 2>" + d + "/err")
                            .c_str()),
            0)
      << slurp(dir_ / "err");
  const std::string content = slurp(dir_ / "content.eml");
  EXPECT_NE(content.find("multipart/mixed"), std::string::npos) << content;
  EXPECT_NE(content.find("Hallo Bob."), std::string::npos);
  EXPECT_NE(print_certs(p7c_of(content)).find("CN = Alice"), std::string::npos);
}

TEST_F(SendKeysTest, SenderWithoutIdentityGoesOnWithoutAttachment) {
  const std::string original = message(plan::SendKeys::smime, false, "nobody@example.org");
  auto r = run(original, "<nobody@example.org>");
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_FALSE(r.body_replaced);
  EXPECT_TRUE(std::any_of(r.transcript.begin(), r.transcript.end(),
                          [](const std::string& l) { return l.rfind("delete_header \"X-Postern-Plan\" 1", 0) == 0; }));
  EXPECT_EQ(delivered(original, r).find("smime.p7c"), std::string::npos);
}

TEST_F(SendKeysTest, PgpOnlyIsNotBuiltAndChangesNothing) {
  const std::string original = message(plan::SendKeys::pgp, false);
  auto r = run(original);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_FALSE(r.body_replaced);
}

}  // namespace
}  // namespace postern::crypto
