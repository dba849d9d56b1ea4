// NAME
//   smime_bench - S/MIME throughput: postern_smime against openssl cms
// SUMMARY
//   smime_bench [seconds-per-case]
// DESCRIPTION
//   For messages of 10 KB, 100 KB, 1 MB and 10 MB (a text part and a
//   base64 attachment) it measures sign+encrypt with an RSA-3072 signer and
//   recipient (detached signature, AES-256-CBC), opening the result
//   (decrypt+verify), and the same sign+encrypt done by running
//   `openssl cms -sign | openssl cms -encrypt` once per message. Then one
//   25 MB message: the growth of the peak resident set while it is signed
//   and encrypted, as a multiple of the message size. Prints a table; exits
//   1 when a round trip fails.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "postern/mime/transfer_encoding.hpp"
#include "postern/smime/smime.hpp"
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

}  // namespace

int main(int argc, char** argv) {
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
    std::printf("%-8s %12.1f %12.1f %12.1f %12.1f %13.1fx\n",
                (size >= (1U << 20) ? std::to_string(size >> 20) + " MB" : std::to_string(size >> 10) + " KB").c_str(),
                ours, ours * static_cast<double>(message.size()) / (1 << 20), open, tool, ours / tool);
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
