// NAME
//   smime_bench - S/MIME throughput: postern_smime against openssl cms
// SUMMARY
//   smime_bench [seconds-per-case]
// DESCRIPTION
//   For messages of 10 KB, 100 KB, 1 MB and 10 MB (a text part and a
//   base64 attachment) it measures sign+encrypt with an RSA-3072 signer and
//   recipient (detached signature, AES-256-CBC), opening the result
//   (decrypt+verify), and the same sign+encrypt done by running
//   `openssl cms -sign | openssl cms -encrypt` once per message (the
//   issue's target: at least 10x at 10 KB).
//
//   Then the milter's overhead over the bare CMS calls: postern-crypto's
//   CryptoFilter, driven in-process through MilterDriver (one connection
//   per message, headers and 64 KiB body chunks as Postfix sends them),
//   with its default spool settings, a key store holding the same
//   credentials and a plan sealed by the real Sealer that says
//   sign+encrypt, against sign_and_encrypt_message on the same message
//   without the plan header (target: the filter at most 1.3x the bare
//   call). The two run alternately, so other load on the machine falls on
//   both alike; the plans are sealed outside the timed part. "milter" is
//   the time inside the filter's callbacks, less what the MTA's side of
//   its actions took (here the recording test double); "with driver" is
//   the whole MilterDriver run, test double included.
//
//   Both run with postern-crypto's allocator settings (mallopt: mmap
//   threshold 32 MiB, trim threshold 256 MiB).
//
//   Last, one 25 MB message: the growth of the peak resident set while it
//   is signed and encrypted, as a multiple of the message size. Prints
//   tables; exits 1 when a round trip fails or the filter did not sign and
//   encrypt. The milter's own peak memory under concurrent large mail is
//   crypto_rss_bench.py's.
#include <malloc.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "postern/config/config.hpp"
#include "postern/crypto/crypto_filter.hpp"
#include "postern/crypto/settings.hpp"
#include "postern/keystore/key_store.hpp"
#include "postern/log/log.hpp"
#include "postern/mime/transfer_encoding.hpp"
#include "postern/plan/sealer.hpp"
#include "postern/smime/smime.hpp"
#include "postern/testing/milter_driver.hpp"
#include "smime_test_pki.hpp"

namespace {

using namespace postern;
using Clock = std::chrono::steady_clock;

std::string message_of(std::size_t size) {
  std::string raw(size * 3 / 4, '\0');
  std::uint32_t x = 2463534242U;
  for (char& c : raw) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return "From: alice@example.org\r\nTo: alice@example.org\r\nSubject: bench\r\nMIME-Version: 1.0\r\n"
         "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHello.\r\n"
         "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
         mime::encode_base64(raw, 76) + "--b--\r\n";
}

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

template <typename F>
double per_second(double seconds, int min_runs, F&& run) {
  int runs = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  while (runs < min_runs || elapsed < seconds) {
    if (!run()) return -1;
    ++runs;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return runs / elapsed;
}

std::string size_name(std::size_t size) {
  return size >= (1U << 20) ? std::to_string(size >> 20) + " MB" : std::to_string(size >> 10) + " KB";
}

// What a filter asks of the MTA, forwarded; the time the MTA's side takes
// (here the recording test double) is added to `mta`.
class ForwardActions final : public milter::Actions {
 public:
  ForwardActions(milter::Actions& to, double& mta) : to_(to), mta_(mta) {}
  std::optional<std::string> macro(std::string_view name) const override { return to_.macro(name); }
  void add_header(std::string_view n, std::string_view v) override { timed([&] { to_.add_header(n, v); }); }
  void insert_header(int i, std::string_view n, std::string_view v) override {
    timed([&] { to_.insert_header(i, n, v); });
  }
  void change_header(std::string_view n, int i, std::optional<std::string_view> v) override {
    timed([&] { to_.change_header(n, i, v); });
  }
  void change_sender(std::string_view a, std::string_view e) override { timed([&] { to_.change_sender(a, e); }); }
  void add_recipient(std::string_view a, std::string_view e) override { timed([&] { to_.add_recipient(a, e); }); }
  void delete_recipient(std::string_view a) override { timed([&] { to_.delete_recipient(a); }); }
  void replace_body(std::string_view c) override { timed([&] { to_.replace_body(c); }); }
  void quarantine(std::string_view r) override { timed([&] { to_.quarantine(r); }); }
  void progress() override { to_.progress(); }

 private:
  template <typename F>
  void timed(F&& f) {
    const auto start = Clock::now();
    f();
    mta_ += std::chrono::duration<double>(Clock::now() - start).count();
  }
  milter::Actions& to_;
  double& mta_;
};

// A filter that forwards to another and adds the time spent in its
// callbacks to `spent`, less what the MTA's side of the actions took: the
// milter's own work, without the driver's (splitting the test message,
// recording the new body, copying results).
class TimedFilter final : public milter::Filter {
 public:
  TimedFilter(std::shared_ptr<const milter::Filter> inner, double& spent) : inner_(std::move(inner)), spent_(spent) {}
  milter::Capabilities capabilities() const override { return inner_->capabilities(); }
  std::unique_ptr<milter::Session> open_session() const override {
    return std::make_unique<Timed>(inner_->open_session(), spent_);
  }

 private:
  class Timed final : public milter::Session {
   public:
    Timed(std::unique_ptr<milter::Session> inner, double& spent) : inner_(std::move(inner)), spent_(spent) {}
    milter::Verdict on_connect(const milter::ConnectInfo& i, milter::Actions& a) override {
      return timed(a, [&](milter::Actions& f) { return inner_->on_connect(i, f); });
    }
    milter::Verdict on_helo(std::string_view h, milter::Actions& a) override {
      return timed(a, [&](milter::Actions& f) { return inner_->on_helo(h, f); });
    }
    milter::Verdict on_mail(const std::vector<std::string>& args, milter::Actions& a) override {
      return timed(a, [&](milter::Actions& f) { return inner_->on_mail(args, f); });
    }
    milter::Verdict on_rcpt(const std::vector<std::string>& args, milter::Actions& a) override {
      return timed(a, [&](milter::Actions& f) { return inner_->on_rcpt(args, f); });
    }
    milter::Verdict on_data(milter::Actions& a) override {
      return timed(a, [&](milter::Actions& f) { return inner_->on_data(f); });
    }
    milter::Verdict on_header(std::string_view n, std::string_view v, milter::Actions& a) override {
      return timed(a, [&](milter::Actions& f) { return inner_->on_header(n, v, f); });
    }
    milter::Verdict on_eoh(milter::Actions& a) override {
      return timed(a, [&](milter::Actions& f) { return inner_->on_eoh(f); });
    }
    milter::Verdict on_body(std::string_view c, milter::Actions& a) override {
      return timed(a, [&](milter::Actions& f) { return inner_->on_body(c, f); });
    }
    milter::Verdict on_eom(milter::Actions& a) override {
      return timed(a, [&](milter::Actions& f) { return inner_->on_eom(f); });
    }
    void on_abort() override { inner_->on_abort(); }
    void on_close() override { inner_->on_close(); }

   private:
    template <typename F>
    milter::Verdict timed(milter::Actions& actions, F&& f) {
      double mta = 0;
      ForwardActions forward(actions, mta);
      const auto start = Clock::now();
      milter::Verdict v = f(forward);
      spent_ += std::chrono::duration<double>(Clock::now() - start).count() - mta;
      return v;
    }
    std::unique_ptr<milter::Session> inner_;
    double& spent_;
  };

  std::shared_ptr<const milter::Filter> inner_;
  double& spent_;
};

// postern-crypto's filter over a key store with the PKI's alice (key,
// chain) and root, and a plan key, in a temporary directory.
class MilterRig {
 public:
  explicit MilterRig(const smime::testing::TestPki& pki) {
    char tmpl[] = "/tmp/postern-smime-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    const std::string secret = dir_ + "/plan.key";
    smime::testing::write_file(secret, "smime-bench-plan-secret-0123456789abcdef");
    std::filesystem::permissions(secret, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    keystore::KeyStore store(dir_ + "/store");
    store.create_layout();
    store.import_bytes(smime::testing::read_file(pki.path("root.pem")), {.password = {}, .anchor = true, .source = "bench"});
    store.import_bytes(smime::testing::read_file(pki.path("chain.pem")), {});
    store.import_bytes(smime::testing::read_file(pki.path("alice.p12")),
                       {.password = std::string("test"), .anchor = false, .source = "bench"});
    const std::string yaml = "plan: {secret_file: " + secret + "}\nkeystore: {root: " + dir_ + "/store}\n" +
                             "spool: {directory: " + dir_ + "}\n";
    filter_ = std::make_shared<TimedFilter>(
        crypto::build_filter(
            std::make_shared<const config::Config>(config::load_string(crypto::schema(), yaml, "bench.yaml"))),
        spent_);
    sealer_ = std::make_unique<plan::Sealer>(plan::Secret::load(secret), plan::Sealer::Options{});
    // The key store caches its scan only once it is a few seconds old (a
    // store changed in the same clock tick would go unnoticed): wait as a
    // running gateway's store is.
    std::this_thread::sleep_for(std::chrono::seconds(3));
    envelope_.sender = "<alice@example.org>";
    envelope_.recipients = {"<alice@example.org>"};
    envelope_.macros = {{"i", "4QBench"}};
  }
  ~MilterRig() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // `message` with a fresh sign+encrypt plan in front (CRLF folding).
  std::string planned(const std::string& message) const {
    plan::Plan p;
    p.recipients = {"<alice@example.org>"};
    p.encrypt = plan::EncryptMethod::smime;
    p.sign = true;
    std::string sealed;
    for (char c : sealer_->seal(p, plan::Sealer::Clock::now())) {
      if (c == '\n') sealed += '\r';
      sealed += c;
    }
    return "X-Postern-Plan: " + sealed + "\r\n" + message;
  }

  // One message through the filter; the size of the replaced body, 0 when
  // the filter did not sign and encrypt it.
  std::size_t run(const std::string& planned_message) const {
    testing::MilterDriver driver(filter_);
    const testing::MessageResult r = driver.run(envelope_, planned_message);
    if (r.verdict.status != milter::Status::proceed || !r.body_replaced) {
      for (const auto& line : r.transcript) std::fprintf(stderr, "  %s\n", line.substr(0, 200).c_str());
      return 0;
    }
    return r.new_body.size();
  }

  // Seconds spent inside the filter's callbacks since the last call.
  double take_spent() const { return std::exchange(spent_, 0.0); }

 private:
  mutable double spent_ = 0;
  std::string dir_;
  std::shared_ptr<const milter::Filter> filter_;
  std::unique_ptr<plan::Sealer> sealer_;
  testing::Envelope envelope_;
};

}  // namespace

int main(int argc, char** argv) {
  // The allocator settings of postern-crypto (milters/crypto/src/main.cpp),
  // for the bare calls and the filter alike.
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  smime::testing::TestPki pki;
  const smime::Credential alice = pki.credential("alice");
  smime::OpenOptions open_options;
  open_options.keys = {&alice};
  open_options.trust = pki.store();

  std::printf("%-8s %12s %12s %12s %12s %14s\n", "size", "ours msg/s", "ours MiB/s", "open msg/s", "openssl msg/s",
              "ours/openssl");
  for (std::size_t size : {std::size_t{10} << 10, std::size_t{100} << 10, std::size_t{1} << 20, std::size_t{10} << 20}) {
    const std::string message = message_of(size);
    std::string out;
    const double ours = per_second(seconds, 3, [&] {
      out = smime::sign_and_encrypt_message(message, alice, {alice.cert.get()});
      return !out.empty();
    });
    const double open = per_second(seconds, 3, [&] {
      const smime::Opened opened = smime::open_message(out, open_options);
      return opened.status.failure == smime::Failure::none && opened.status.all_signatures_good();
    });
    smime::testing::write_file(pki.path("bench.eml"), message);
    const std::string command = "openssl cms -sign -md sha256 -in " + pki.path("bench.eml") + " -signer " +
                                pki.path("alice.crt") + " -inkey " + pki.path("alice.key") + " -certfile " +
                                pki.path("chain.pem") + " | openssl cms -encrypt -aes256 -out " + pki.path("bench.out") +
                                " " + pki.path("alice.crt");
    const double tool = per_second(seconds, 3, [&] { return smime::testing::run(command) == 0; });
    if (ours < 0 || open < 0 || tool < 0) {
      std::fprintf(stderr, "round trip failed at %zu bytes\n", size);
      return 1;
    }
    std::printf("%-8s %12.1f %12.1f %12.1f %12.1f %13.1fx\n", size_name(size).c_str(), ours, ours * static_cast<double>(message.size()) / (1 << 20), open, tool, ours / tool);
  }

  // The milter's overhead over the bare calls, on the same message.
  log::init("postern-crypto", log::Sink::none);
  const MilterRig rig(pki);
  std::printf("\n%-8s %12s %14s %12s %16s %14s\n", "size", "bare msg/s", "milter msg/s", "milter/bare",
              "with driver msg/s", "driver/bare");
  for (std::size_t size : {std::size_t{10} << 10, std::size_t{100} << 10, std::size_t{1} << 20, std::size_t{10} << 20}) {
    const std::string message = message_of(size);
    // Alternately, one bare call and one message through the filter, so
    // that other load on the machine falls on both alike.
    std::size_t bare_size = 0;
    std::size_t milter_body = 0;
    double bare_s = 0;
    double driven_s = 0;
    int runs = 0;
    rig.take_spent();
    while (runs < 3 || bare_s + driven_s < 2 * seconds) {
      auto start = Clock::now();
      bare_size = smime::sign_and_encrypt_message(message, alice, {alice.cert.get()}).size();
      bare_s += std::chrono::duration<double>(Clock::now() - start).count();
      const std::string planned = rig.planned(message);
      start = Clock::now();
      milter_body = rig.run(planned);
      driven_s += std::chrono::duration<double>(Clock::now() - start).count();
      ++runs;
      if (bare_size == 0 || milter_body == 0) break;
    }
    const double bare = runs / bare_s;
    const double milter = runs / rig.take_spent();
    const double driven = runs / driven_s;
    // The replaced body is the bare output without its header block.
    if (milter_body + 4096 < bare_size || milter_body > bare_size) {
      std::fprintf(stderr, "the milter did not sign and encrypt the %zu byte message (body %zu, bare %zu)\n", size,
                   milter_body, bare_size);
      return 1;
    }
    std::printf("%-8s %12.1f %14.1f %11.2fx %16.1f %13.2fx\n", size_name(size).c_str(), bare, milter, bare / milter,
                driven, bare / driven);
  }

  const std::string big = message_of(std::size_t{25} << 20);
  const long before = max_rss_kib();
  const std::string out = smime::sign_and_encrypt_message(big, alice, {alice.cert.get()});
  const long after_produce = max_rss_kib();
  const smime::Opened opened = smime::open_message(out, open_options);
  const long after_open = max_rss_kib();
  const double mib = static_cast<double>(big.size()) / (1 << 20);
  std::printf("25 MB message (%.1f MiB): peak RSS grew %.1f MiB signing+encrypting (%.1fx), %.1f MiB more opening; %s\n",
              mib, static_cast<double>(after_produce - before) / 1024, static_cast<double>(after_produce - before) / 1024 / mib,
              static_cast<double>(after_open - after_produce) / 1024,
              opened.status.all_signatures_good() ? "round trip ok" : "ROUND TRIP FAILED");
  return opened.status.all_signatures_good() ? 0 : 1;
}
