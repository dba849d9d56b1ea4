// Revocation checks against real responders on loopback: `openssl ocsp`
// answering from an index file, python3's http.server serving CRLs, and a
// small in-test HTTP server for a responder that hangs or answers too much.
// Every server runs on a fresh loopback port in a private directory and is
// stopped at the end of its test. Missing openssl / python3 skip the test,
// or fail it when POSTERN_REQUIRE_ALL=1.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "postern/core/fd.hpp"
#include "postern/ossl/certificate.hpp"
#include "postern/revocation/checker.hpp"
#include "postern/testing/responders.hpp"
#include "postern/testing/test_pki.hpp"

namespace postern::revocation {
namespace {

using namespace std::chrono_literals;
using testing::find_tool;
using testing::Issued;
using testing::Process;
using testing::require_all;
using testing::TestPki;
using testing::write_file;
namespace fs = std::filesystem;

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A tiny HTTP server in the test: answers every request with `body`, or
// holds every connection open without answering (hang).
class TinyHttp {
 public:
  TinyHttp(std::string body, bool hang) : body_(std::move(body)), hang_(hang) {
    listen_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_.get(), 16) != 0) {
      throw std::runtime_error("TinyHttp listen");
    }
    socklen_t len = sizeof a;
    ::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TinyHttp() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void serve() {
    std::vector<core::Fd> held;
    while (!stop_) {
      pollfd p{listen_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      core::Fd c(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c.valid()) continue;
      ++requests_;
      if (hang_) {
        held.push_back(std::move(c));
        continue;
      }
      char buf[4096];
      std::string req;
      while (req.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c.get(), POLLIN, 0};
        if (::poll(&q, 1, 2000) <= 0) break;
        const ssize_t n = ::recv(c.get(), buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      const std::string head =
          "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: " + std::to_string(body_.size()) +
          "\r\n\r\n";
      ::send(c.get(), head.data(), head.size(), MSG_NOSIGNAL);
      ::send(c.get(), body_.data(), body_.size(), MSG_NOSIGNAL);
    }
  }

  std::string body_;
  bool hang_;
  core::Fd listen_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

class RevocationInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    openssl_ = find_tool("openssl");
    python_ = find_tool("python3");
    if (openssl_.empty() || python_.empty()) {
      if (require_all()) FAIL() << "openssl or python3 missing and POSTERN_REQUIRE_ALL=1";
      GTEST_SKIP() << "openssl or python3 not installed";
    }
    std::string t = (fs::temp_directory_path() / "postern-revocation-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
    ocsp_port_ = testing::free_port();
    crl_port_ = testing::free_port();
    dead_port_ = testing::free_port();
    responder_ = pki_.issue(
        {.common_name = "OCSP Responder", .key_usage = "critical,digitalSignature", .ext_key_usage = "OCSPSigning"});
    good_ = issue(ocsp_url(), crl_url());
    revoked_ = issue(ocsp_url(), crl_url());
    write_file(dir_ / "ca.pem", pki_.intermediate().pem());
    write_file(dir_ / "responder.pem", responder_.pem());
    write_file(dir_ / "responder.key", responder_.key_pem(), 0600);
    write_file(dir_ / "index.txt", testing::ocsp_index({{&good_, false}, {&revoked_, true}}));
    write_file(dir_ / "www" / "ca.crl", pki_.crl_der({&revoked_}));
  }

  void TearDown() override {
    processes_.clear();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  std::string ocsp_url() const { return "http://127.0.0.1:" + std::to_string(ocsp_port_) + "/"; }
  std::string crl_url() const { return "http://127.0.0.1:" + std::to_string(crl_port_) + "/ca.crl"; }
  std::string dead_url() const { return "http://127.0.0.1:" + std::to_string(dead_port_) + "/"; }

  Issued issue(const std::string& ocsp, const std::string& crl) {
    Issued i = pki_.issue({.emails = {"user@example.org"}});
    if (!ocsp.empty()) testing::add_extension(i, pki_.intermediate(), NID_info_access, "OCSP;URI:" + ocsp);
    if (!crl.empty()) testing::add_extension(i, pki_.intermediate(), NID_crl_distribution_points, "URI:" + crl);
    return i;
  }

  // openssl ocsp on ocsp_port_, signing with `signer_pem` / `key_pem` (files in dir_).
  Process& start_ocsp(const std::string& signer_pem = "responder.pem", const std::string& key_pem = "responder.key",
                      const std::vector<std::string>& extra = {"-nmin", "60"}) {
    processes_.push_back(testing::start_ocsp_responder({.openssl = openssl_,
                                                        .dir = dir_,
                                                        .port = ocsp_port_,
                                                        .ca_pem = "ca.pem",
                                                        .signer_pem = signer_pem,
                                                        .key_pem = key_pem,
                                                        .extra = extra}));
    return *processes_.back();
  }

  Process& start_crl_server() {
    processes_.push_back(testing::start_http_server(python_, dir_ / "www", crl_port_, dir_));
    return *processes_.back();
  }

  Settings settings(Mode mode = Mode::hard_fail) const {
    Settings s;
    s.mode = mode;
    s.http.connect_timeout = 1000ms;
    s.http.request_timeout = 2000ms;
    return s;
  }

  Result check(const Checker& c, const Issued& cert) const {
    return c.check(cert.cert.get(), pki_.intermediate().cert.get());
  }

  static std::size_t ocsp_requests_seen(const Process& p) { return count(p.err(), "Received request"); }
  static std::size_t crl_requests_seen(const Process& p) { return count(p.err(), "\"GET /ca.crl"); }

  std::string openssl_;
  std::string python_;
  fs::path dir_;
  int ocsp_port_ = 0;
  int crl_port_ = 0;
  int dead_port_ = 0;
  TestPki pki_;
  Issued responder_;
  Issued good_;
  Issued revoked_;
  std::vector<std::unique_ptr<Process>> processes_;
};

TEST_F(RevocationInterop, OcspGoodRevokedAndCached) {
  Process& ocsp = start_ocsp();
  Settings s = settings();
  s.use_crl = false;
  Checker checker(s);

  Result r = check(checker, good_);
  EXPECT_EQ(r.status, Status::good) << r.text();
  EXPECT_TRUE(r.accepted);
  EXPECT_EQ(r.source, "ocsp " + ocsp_url());
  EXPECT_FALSE(r.from_cache);
  EXPECT_GT(r.next_update, r.this_update);

  r = check(checker, revoked_);
  EXPECT_EQ(r.status, Status::revoked) << r.text();
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.reason, "keyCompromise");
  EXPECT_EQ(ossl::utc_text(r.revoked_at), "2025-11-24T00:00:00Z");
  EXPECT_NE(r.text().find("revoked (ocsp http://127.0.0.1:"), std::string::npos) << r.text();

  // The second check of each is answered from the cache: no request reaches the responder.
  EXPECT_EQ(ocsp_requests_seen(ocsp), 2u) << ocsp.err();
  r = check(checker, good_);
  EXPECT_EQ(r.status, Status::good);
  EXPECT_TRUE(r.from_cache);
  r = check(checker, revoked_);
  EXPECT_EQ(r.status, Status::revoked);
  EXPECT_TRUE(r.from_cache);
  EXPECT_EQ(checker.stats().ocsp_requests, 2u);
  EXPECT_EQ(checker.stats().cache_hits, 2u);
  EXPECT_EQ(ocsp_requests_seen(ocsp), 2u) << ocsp.err();
}

TEST_F(RevocationInterop, OneCheckerSharedByThreads) {
  Process& ocsp = start_ocsp();
  start_crl_server();
  Settings s = settings();
  Checker checker(s);
  std::atomic<int> good{0};
  std::atomic<int> revoked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const bool ask_good = (i + t) % 2 == 0;
        Result r = check(checker, ask_good ? good_ : revoked_);
        if (ask_good && r.status == Status::good) ++good;
        if (!ask_good && r.status == Status::revoked) ++revoked;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 60);
  EXPECT_EQ(revoked.load(), 60);
  // Threads that miss the cache at the same moment may each ask; never more
  // than one per thread and certificate.
  EXPECT_GE(ocsp_requests_seen(ocsp), 2u);
  EXPECT_LE(checker.stats().ocsp_requests, 12u);
  EXPECT_EQ(checker.stats().crl_requests, 0u);
}

TEST_F(RevocationInterop, OcspSignedByTheIssuerItself) {
  write_file(dir_ / "ca.key", pki_.intermediate().key_pem(), 0600);
  start_ocsp("ca.pem", "ca.key");
  Settings s = settings();
  s.use_crl = false;
  Checker checker(s);
  EXPECT_EQ(check(checker, good_).status, Status::good) << check(checker, good_).text();
  EXPECT_EQ(check(checker, revoked_).status, Status::revoked);
}

TEST_F(RevocationInterop, OcspSignedByTheWrongKeyRefused) {
  TestPki impostor;  // the same names, other keys
  Issued fake = impostor.issue(
      {.common_name = "OCSP Responder", .key_usage = "critical,digitalSignature", .ext_key_usage = "OCSPSigning"});
  write_file(dir_ / "fake.pem", fake.pem());
  write_file(dir_ / "fake.key", fake.key_pem(), 0600);
  Process& ocsp = start_ocsp("fake.pem", "fake.key");
  Settings s = settings(Mode::hard_fail);
  s.use_crl = false;
  Checker checker(s);
  Result r = check(checker, revoked_);
  EXPECT_EQ(r.status, Status::unknown) << r.text();
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.why.find("not issued by the certificate's issuer"), std::string::npos) << r.why;
  // The refused answer is remembered for this certificate: asking again
  // makes no request. Another certificate is asked for (and refused too).
  r = check(checker, revoked_);
  EXPECT_EQ(r.status, Status::unknown) << r.text();
  EXPECT_NE(r.why.find("failed recently"), std::string::npos) << r.why;
  EXPECT_EQ(ocsp_requests_seen(ocsp), 1u);
  r = check(checker, good_);
  EXPECT_EQ(r.status, Status::unknown) << r.text();
  EXPECT_EQ(r.why.find("failed recently"), std::string::npos) << r.why;
  EXPECT_EQ(ocsp_requests_seen(ocsp), 2u);

  // A certificate of the right CA but without OCSPSigning is refused too.
  ocsp.stop();
  write_file(dir_ / "plain.pem", good_.pem());
  write_file(dir_ / "plain.key", good_.key_pem(), 0600);
  start_ocsp("plain.pem", "plain.key");
  Checker fresh(s);
  r = check(fresh, good_);
  EXPECT_EQ(r.status, Status::unknown);
  EXPECT_NE(r.why.find("OCSPSigning"), std::string::npos) << r.why;
}

TEST_F(RevocationInterop, StaleOcspResponseRefused) {
  start_ocsp();  // nextUpdate one hour after thisUpdate
  Settings s = settings();
  s.use_crl = false;
  const std::time_t later = std::time(nullptr) + 2 * 3600;
  s.clock = [later] { return later; };
  Checker checker(s);
  Result r = check(checker, revoked_);
  EXPECT_EQ(r.status, Status::unknown) << r.text();
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.why.find("stale"), std::string::npos) << r.why;
}

TEST_F(RevocationInterop, OcspWithoutNextUpdateLimitedByMaxAge) {
  start_ocsp("responder.pem", "responder.key", {});
  Settings s = settings();
  s.use_crl = false;
  Checker now(s);
  Result r = check(now, good_);
  EXPECT_EQ(r.status, Status::good) << r.text();
  EXPECT_EQ(r.next_update, 0);
  const std::time_t later = std::time(nullptr) + 2 * 3600;
  s.clock = [later] { return later; };
  s.clock_skew = 60s;
  Checker old(s);  // responder answers with thisUpdate = real now: 2 h old by this clock
  r = check(old, good_);
  EXPECT_EQ(r.status, Status::unknown) << r.text();
  EXPECT_NE(r.why.find("no nextUpdate"), std::string::npos) << r.why;
}

TEST_F(RevocationInterop, CrlOverHttpGoodRevokedAndCachedUntilNextUpdate) {
  Process& http = start_crl_server();
  Settings s = settings();
  s.use_ocsp = false;
  std::time_t now = std::time(nullptr);
  s.clock = [&now] { return now; };
  Checker checker(s);
  Result r = check(checker, good_);
  EXPECT_EQ(r.status, Status::good) << r.text();
  EXPECT_EQ(r.source, "crl " + crl_url());
  r = check(checker, revoked_);
  EXPECT_EQ(r.status, Status::revoked) << r.text();
  EXPECT_FALSE(r.accepted);
  EXPECT_TRUE(r.from_cache);
  EXPECT_EQ(r.reason, "unspecified");
  EXPECT_EQ(checker.stats().crl_requests, 1u);
  EXPECT_EQ(crl_requests_seen(http), 1u) << http.err();

  // Six days on the CRL (nextUpdate in 7 days) still answers from the cache;
  // past nextUpdate it is fetched again (and, being the same CRL, is stale).
  now += 6 * 86400;
  EXPECT_TRUE(check(checker, good_).from_cache);
  EXPECT_EQ(crl_requests_seen(http), 1u);
  now += 2 * 86400;
  r = check(checker, good_);
  EXPECT_EQ(r.status, Status::unknown) << r.text();
  EXPECT_NE(r.why.find("stale"), std::string::npos) << r.why;
  EXPECT_EQ(crl_requests_seen(http), 2u) << http.err();

  // PEM served the same way works too.
  write_file(dir_ / "www" / "ca.crl", pki_.crl({&revoked_}));
  Settings t = settings();
  t.use_ocsp = false;
  Checker pem(t);
  EXPECT_EQ(check(pem, revoked_).status, Status::revoked);
}

TEST_F(RevocationInterop, OcspDownFallsBackToTheCrl) {
  start_crl_server();
  Issued cert = issue(dead_url(), crl_url());
  Checker checker(settings(Mode::hard_fail));
  Result r = checker.check(cert.cert.get(), pki_.intermediate().cert.get());
  EXPECT_EQ(r.status, Status::good) << r.text();
  EXPECT_EQ(r.source, "crl " + crl_url());
  Result rev = check(checker, revoked_);  // its OCSP responder is not running either
  EXPECT_EQ(rev.status, Status::revoked) << rev.text();
}

TEST_F(RevocationInterop, RespondersDownSoftAndHardFail) {
  Issued cert = issue(dead_url(), "http://127.0.0.1:" + std::to_string(dead_port_) + "/ca.crl");
  for (Mode mode : {Mode::soft_fail, Mode::hard_fail}) {
    Checker checker(settings(mode));
    const auto start = std::chrono::steady_clock::now();
    Result r = checker.check(cert.cert.get(), pki_.intermediate().cert.get());
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_EQ(r.status, Status::unknown);
    EXPECT_EQ(r.accepted, mode == Mode::soft_fail) << r.text();
    EXPECT_NE(r.why.find("Connection refused"), std::string::npos) << r.why;
    EXPECT_NE(r.note.find(mode == Mode::soft_fail ? "soft-fail: accepted" : "hard-fail: refused"), std::string::npos);
    // The failure is remembered: the next check makes no request.
    r = checker.check(cert.cert.get(), pki_.intermediate().cert.get());
    EXPECT_EQ(checker.stats().ocsp_requests, 1u);
    EXPECT_EQ(checker.stats().crl_requests, 1u);
    EXPECT_NE(r.why.find("failed recently"), std::string::npos) << r.why;
  }
}

TEST_F(RevocationInterop, HangingResponderTimesOut) {
  TinyHttp hang("", true);
  const std::string url = "http://127.0.0.1:" + std::to_string(hang.port()) + "/";
  Issued cert = issue(url, url + "ca.crl");
  Settings s = settings(Mode::hard_fail);
  s.http.request_timeout = 700ms;
  Checker checker(s);
  const auto start = std::chrono::steady_clock::now();
  Result r = checker.check(cert.cert.get(), pki_.intermediate().cert.get());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(count(r.why, "timed out after 700 ms"), 2u) << r.why;  // OCSP, then the CRL
  EXPECT_GE(took, 1400ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(hang.requests(), 2);
}

TEST_F(RevocationInterop, OversizedAndBogusCrlRefused) {
  TinyHttp big(std::string(5000, 'x'), false);
  const std::string url = "http://127.0.0.1:" + std::to_string(big.port()) + "/ca.crl";
  Issued cert = issue("", url);
  Settings s = settings(Mode::hard_fail);
  s.http.max_response_bytes = 1000;
  Checker checker(s);
  Result r = checker.check(cert.cert.get(), pki_.intermediate().cert.get());
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.why.find("response larger than 1000 bytes"), std::string::npos) << r.why;

  Checker roomy(settings(Mode::hard_fail));
  r = roomy.check(cert.cert.get(), pki_.intermediate().cert.get());
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.why.find("not a CRL"), std::string::npos) << r.why;
}

}  // namespace
}  // namespace postern::revocation
