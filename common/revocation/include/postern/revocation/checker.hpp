// NAME
//   checker - is this certificate revoked? OCSP and CRLs (local files and
//   HTTP distribution points), cached, bounded in time and memory, with a
//   soft-fail / hard-fail choice
// SUMMARY
//   revocation::Settings s;
//   s.mode = revocation::Mode::hard_fail;
//   s.crl_directory = "/var/lib/postern/crls";        // the key store's CRLs
//   revocation::Checker checker(s);                    // one per process, shared
//   revocation::Result r = checker.check(leaf, issuer);
//   revocation::ChainResult c = checker.check_chain({leaf, intermediate, root});
//   revocation::ChainResult p = checker.check_path(signer, trust_store, carried_certs);
//   if (!c.accepted) log::info(qid, "revoked-or-unknown", {{"detail", c.text()}});
// DESCRIPTION
//   check(cert, issuer) asks, in order (prefer_ocsp; otherwise CRLs first):
//     1. OCSP: each http:// URL of the certificate's authorityInfoAccess,
//        a request with a nonce POSTed to it; the response verified as
//        checks.hpp describes. good or revoked ends the check.
//     2. CRLs: the CRLs in crl_directory whose issuer is the certificate's
//        issuer (the newest usable one), then each http:// URL of the
//        cRLDistributionPoints (DER or PEM), each verified with the
//        issuer's key and within its validity. The first usable CRL
//        answers good or revoked.
//   When no source answers, the status is unknown and `why` lists every
//   attempt; soft_fail accepts it with a note, hard_fail refuses.
//
//   Cache (per Checker, shared by all threads): OCSP answers by CertID
//   until min(nextUpdate, now + ocsp_max_age) (thisUpdate + ocsp_max_age
//   without nextUpdate); fetched CRLs by URL and issuer until nextUpdate
//   (lastUpdate + crl_max_age without one); for failure_ttl, a URL that
//   could not be reached (so a responder that is down costs one timeout
//   per failure_ttl, not one per message), and a refused answer for that
//   certificate (OCSP) or issuer (CRL). At most max_cache_entries entries of
//   each kind: expired entries are dropped first, then everything. Local
//   CRL files are read again when the directory's mtime changes.
//
//   Bounded: every fetch is bounded by http.connect_timeout and
//   http.request_timeout and reads at most http.max_response_bytes; a
//   check makes at most max_fetches_per_check fetches. Network I/O runs
//   outside the cache lock; two threads missing the cache at once may
//   both fetch.
// DIAGNOSTICS
//   Never throws for what a certificate, responder or CRL says or fails to
//   say: that is Result::why. Throws ossl::Error only when OpenSSL cannot
//   allocate.
// THREADS
//   Safe from any thread; the certificates passed are only read.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "postern/ossl/handles.hpp"
#include "postern/revocation/http.hpp"
#include "postern/revocation/result.hpp"

namespace postern::revocation {

struct Settings {
  Mode mode = Mode::soft_fail;
  HttpLimits http;  // connect / whole-request timeouts, max response size
  bool use_ocsp = true;
  bool use_crl = true;
  bool prefer_ocsp = true;              // OCSP before CRLs; false: CRLs first
  std::filesystem::path crl_directory;  // local CRLs (PEM or DER files); empty: none
  std::chrono::seconds clock_skew{300};
  std::chrono::seconds ocsp_max_age{3600};      // cache cap; freshness limit without nextUpdate
  std::chrono::seconds crl_max_age{7 * 86400};  // for CRLs without nextUpdate
  std::chrono::seconds failure_ttl{60};         // a failed URL is not asked again for this long
  bool ocsp_nonce = true;
  bool require_nonce = false;
  std::size_t max_cache_entries = 10000;
  std::size_t max_fetches_per_check = 4;
  std::function<std::time_t()> clock;  // tests; default: time(nullptr)
};

struct Stats {
  std::uint64_t ocsp_requests = 0;  // HTTP requests made
  std::uint64_t crl_requests = 0;
  std::uint64_t cache_hits = 0;  // answers (or failures) taken from the cache
};

class Checker {
 public:
  explicit Checker(Settings settings);
  ~Checker();
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  const Settings& settings() const noexcept { return settings_; }

  // The revocation status of `cert`, issued by `issuer`.
  Result check(X509* cert, X509* issuer) const;

  // Every certificate of `chain` (leaf first, each issued by the next)
  // except the last, the trust anchor, which is trusted by configuration.
  // Stops at the first refusal.
  ChainResult check_chain(const std::vector<X509*>& chain) const;
  ChainResult check_chain(STACK_OF(X509) * chain) const;

  // The chain of `cert` as OpenSSL builds it from `trust` (anchors and
  // intermediates, e.g. KeyStore::verification_store()) and `untrusted`
  // (e.g. the certificates a signed message carried), then check_chain().
  // When no valid chain can be built: not accepted, with one unknown Result
  // whose why is "no chain to a trust anchor: OpenSSL's reason".
  ChainResult check_path(X509* cert, X509_STORE* trust, const std::vector<X509*>& untrusted = {}) const;

  Stats stats() const;
  void clear_cache();

  struct State;

 private:
  Settings settings_;
  std::unique_ptr<State> state_;
};

}  // namespace postern::revocation
