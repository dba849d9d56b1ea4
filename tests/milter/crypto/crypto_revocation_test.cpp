// postern-crypto checks each recipient's certificate for revocation before
// encrypting to it: through MilterDriver with real sealed plans, a TestPki
// key store, `openssl ocsp` as the OCSP responder and python3's http.server
// serving the CRL, all on loopback ports of this test (tests/support
// responders.hpp, shared with tests/interop/revocation_interop_test.cpp).
// A revoked certificate gets the plan's fallback like a missing one; a
// responder that is down is accepted under soft_fail and is the fallback
// under hard_fail. Missing openssl / python3 skip, or fail under
// POSTERN_REQUIRE_ALL=1.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
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
#include "postern/plan/sealer.hpp"
#include "postern/smime/smime.hpp"
#include "postern/testing/milter_driver.hpp"
#include "postern/testing/responders.hpp"
#include "postern/testing/test_pki.hpp"

namespace postern::crypto {
namespace {

namespace fs = std::filesystem;
using milter::Status;
using testing::Envelope;
using testing::Issued;
using testing::MilterDriver;
using testing::write_file;

constexpr char kQueueId[] = "4Q2x1B0kzNz";

// Log lines, for the fallback's reason.
class LogCapture {
 public:
  LogCapture() {
    log::set_capture(
        [](log::Level, const std::string& line, void* user) {
          auto* self = static_cast<LogCapture*>(user);
          std::lock_guard lock(self->mutex_);
          self->lines_.push_back(line);
        },
        this);
  }
  ~LogCapture() { log::set_capture(nullptr, nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& l : lines_) out += l + "\n";
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> lines_;
};

class CryptoRevocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init("postern-crypto", log::Sink::none);
    openssl_ = testing::find_tool("openssl");
    python_ = testing::find_tool("python3");
    if (openssl_.empty() || python_.empty()) {
      if (testing::require_all()) FAIL() << "openssl or python3 missing and POSTERN_REQUIRE_ALL=1";
      GTEST_SKIP() << "openssl or python3 not installed";
    }
    std::string t = (fs::temp_directory_path() / "postern-crypto-revocation-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
    ocsp_port_ = testing::free_port();
    crl_port_ = testing::free_port();
    dead_port_ = testing::free_port();

    responder_ = pki_.issue(
        {.common_name = "OCSP Responder", .key_usage = "critical,digitalSignature", .ext_key_usage = "OCSPSigning"});
    // good and revoked ask the OCSP responder first, then the CRL; crl_only
    // names only the CRL; down names ports nothing listens on.
    good_ = recipient("good@partner.example", url(ocsp_port_, "/"), url(crl_port_, "/ca.crl"));
    revoked_ = recipient("revoked@partner.example", url(ocsp_port_, "/"), url(crl_port_, "/ca.crl"));
    crl_only_ = recipient("crl@partner.example", "", url(crl_port_, "/ca.crl"));
    down_ = recipient("down@partner.example", url(dead_port_, "/"), url(dead_port_, "/ca.crl"));
    // Two certificates for one address: the newer is revoked, the older not.
    two_old_ = recipient("two@partner.example", url(ocsp_port_, "/"), "", -20);
    two_new_ = recipient("two@partner.example", url(ocsp_port_, "/"), "", -2);

    write_file(dir_ / "ca.pem", pki_.intermediate().pem());
    write_file(dir_ / "responder.pem", responder_.pem());
    write_file(dir_ / "responder.key", responder_.key_pem(), 0600);
    write_file(dir_ / "index.txt", testing::ocsp_index({{&good_, false},
                                                        {&revoked_, true},
                                                        {&crl_only_, false},
                                                        {&two_old_, false},
                                                        {&two_new_, true}}));
    write_file(dir_ / "www" / "ca.crl", pki_.crl_der({&revoked_}));

    files_.emplace(dir_, pki_);
    root_ = files_->store_root();
    for (const Issued* i : {&good_, &revoked_, &crl_only_, &down_, &two_old_, &two_new_}) {
      files_->import(i->pem());
    }
    // The root's CRL in the store answers for the intermediate (hard_fail
    // checks the whole chain but the anchor).
    write_file(root_ / "crls" / "root.crl.pem", pki_.crl({}, true), 0644);
  }

  void TearDown() override {
    servers_.clear();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  static std::string url(int port, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }

  Issued recipient(const std::string& address, const std::string& ocsp, const std::string& crl, int not_before = -1) {
    Issued i = pki_.issue({.common_name = address, .emails = {address}, .not_before_days = not_before});
    if (!ocsp.empty()) testing::add_extension(i, pki_.intermediate(), NID_info_access, "OCSP;URI:" + ocsp);
    if (!crl.empty()) testing::add_extension(i, pki_.intermediate(), NID_crl_distribution_points, "URI:" + crl);
    return i;
  }

  void start_ocsp() {
    servers_.push_back(testing::start_ocsp_responder({.openssl = openssl_, .dir = dir_, .port = ocsp_port_}));
  }
  void start_crl_server() { servers_.push_back(testing::start_http_server(python_, dir_ / "www", crl_port_, dir_)); }

  std::shared_ptr<const milter::Filter> filter(const std::string& mode) const {
    return files_->filter("revocation: {mode: " + mode + ", timeout: 1s}\n");
  }

  std::string message(const std::vector<std::string>& rcpts,
                      plan::EncryptFallback fallback = plan::EncryptFallback::bounce) const {
    plan::Plan p;
    p.recipients = rcpts;
    p.encrypt = plan::EncryptMethod::smime;
    p.fallback = fallback;
    return "X-Postern-Plan: " + files_->sealed(p) +
           "\r\nFrom: Alice <alice@example.org>\r\nTo: partner\r\nSubject: Offerte\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDie Offerte.\r\n";
  }

  static Envelope envelope(const std::vector<std::string>& rcpts) {
    Envelope e;
    e.sender = "<alice@example.org>";
    e.recipients = rcpts;
    e.macros = {{"i", kQueueId}};
    return e;
  }

  testing::MessageResult send(const std::shared_ptr<const milter::Filter>& f, const std::vector<std::string>& rcpts,
                              plan::EncryptFallback fallback = plan::EncryptFallback::bounce) const {
    MilterDriver d(f);
    return d.run(envelope(rcpts), message(rcpts, fallback));
  }

  // Whether `who`'s key opens the encrypted body the filter produced.
  static bool opens_with(const testing::MessageResult& r, const Issued& who) {
    if (!r.body_replaced) return false;
    smime::Credential c;
    c.cert = ossl::share(who.cert.get());
    EVP_PKEY_up_ref(who.key.get());
    c.key = ossl::PkeyPtr(who.key.get());
    const std::string msg =
        "MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" +
        r.new_body;
    smime::Opened o = smime::open_message(msg, {.keys = {&c}});
    return o.status.encrypted && o.status.failure == smime::Failure::none &&
           o.message.find("Die Offerte.") != std::string::npos;
  }

  static void expect_bounce_naming(const testing::MessageResult& r, const std::string& named,
                                   const std::string& not_named = "") {
    ASSERT_EQ(r.verdict.status, Status::reject) << testing::describe(r.verdict);
    EXPECT_EQ(r.verdict.reply->code, "550");
    EXPECT_EQ(r.verdict.reply->xcode, "5.7.1");
    EXPECT_NE(r.verdict.reply->text.find(named), std::string::npos) << r.verdict.reply->text;
    if (!not_named.empty()) {
      EXPECT_EQ(r.verdict.reply->text.find(not_named), std::string::npos);
    }
    EXPECT_FALSE(r.body_replaced);
  }

  std::string openssl_, python_;
  fs::path dir_, root_;
  std::optional<CryptoFiles> files_;
  int ocsp_port_ = 0, crl_port_ = 0, dead_port_ = 0;
  testing::TestPki pki_;
  Issued responder_, good_, revoked_, crl_only_, down_, two_old_, two_new_;
  std::vector<std::unique_ptr<testing::Process>> servers_;
};

TEST_F(CryptoRevocationTest, OcspRevokedRecipientBouncesAndGoodIsEncrypted) {
  start_ocsp();
  LogCapture logs;
  auto f = filter("soft_fail");
  auto r = send(f, {"<good@partner.example>", "<revoked@partner.example>"});
  expect_bounce_naming(r, "revoked@partner.example", "good@partner.example");
  const std::string log = logs.text();
  EXPECT_NE(log.find("postern-crypto: bounced "), std::string::npos) << log;
  EXPECT_NE(log.find(revoked_.fingerprint().substr(0, 16) + ": revoked (OCSP): keyCompromise"), std::string::npos)
      << log;
  EXPECT_NE(log.find("revocation from=<alice@example.org> recipient=revoked@partner.example"), std::string::npos)
      << log;

  auto ok = send(f, {"<good@partner.example>"});
  ASSERT_EQ(ok.verdict.status, Status::proceed) << testing::describe(ok.verdict);
  EXPECT_TRUE(opens_with(ok, good_));
}

TEST_F(CryptoRevocationTest, CrlOverHttpRevokedRecipientHoldsAndGoodIsEncrypted) {
  start_crl_server();  // no OCSP responder: good and revoked fall back to the CRL
  LogCapture logs;
  auto f = filter("hard_fail");
  auto r = send(f, {"<revoked@partner.example>"}, plan::EncryptFallback::hold);
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_FALSE(r.body_replaced);
  EXPECT_TRUE(std::any_of(r.transcript.begin(), r.transcript.end(), [](const std::string& l) {
    return l == "quarantine \"postern-crypto: encryption required, no usable key for revoked@partner.example\"";
  })) << ::testing::PrintToString(r.transcript);
  EXPECT_NE(logs.text().find("revoked (CRL)"), std::string::npos) << logs.text();

  const std::vector<std::pair<std::string, const Issued*>> fine = {{"<crl@partner.example>", &crl_only_},
                                                                    {"<good@partner.example>", &good_}};
  for (const auto& [address, who] : fine) {
    auto ok = send(f, {address});
    ASSERT_EQ(ok.verdict.status, Status::proceed) << address << " " << testing::describe(ok.verdict);
    EXPECT_TRUE(opens_with(ok, *who)) << address;
  }
}

TEST_F(CryptoRevocationTest, RespondersDownSoftFailEncryptsHardFailFallsBack) {
  {
    LogCapture logs;
    auto r = send(filter("soft_fail"), {"<down@partner.example>"});
    ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
    EXPECT_TRUE(opens_with(r, down_));
    EXPECT_NE(logs.text().find("action=soft-fail"), std::string::npos) << logs.text();
  }
  LogCapture logs;
  auto r = send(filter("hard_fail"), {"<down@partner.example>"});
  expect_bounce_naming(r, "down@partner.example");
  EXPECT_NE(logs.text().find("revocation status unknown (hard-fail)"), std::string::npos) << logs.text();
  EXPECT_NE(logs.text().find("Connection refused"), std::string::npos) << logs.text();
}

TEST_F(CryptoRevocationTest, RevokedNewestCertificateGivesWayToAnOlderGoodOne) {
  start_ocsp();
  auto r = send(filter("hard_fail"), {"<two@partner.example>"});
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_TRUE(opens_with(r, two_old_));
  EXPECT_FALSE(opens_with(r, two_new_));
}

TEST_F(CryptoRevocationTest, OffChecksNothingBeyondTheStoresCrls) {
  // No responder runs and the certificate is revoked there: off encrypts.
  auto r = send(filter("off"), {"<revoked@partner.example>"});
  ASSERT_EQ(r.verdict.status, Status::proceed) << testing::describe(r.verdict);
  EXPECT_TRUE(opens_with(r, revoked_));
}

}  // namespace
}  // namespace postern::crypto
