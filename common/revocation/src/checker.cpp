#include "postern/revocation/checker.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "postern/ossl/certificate.hpp"
#include "postern/ossl/error.hpp"
#include "postern/revocation/checks.hpp"

namespace postern::revocation {
namespace {

using CrlShared = std::shared_ptr<X509_CRL>;

CrlShared shared_crl(ossl::X509CrlPtr crl) { return CrlShared(crl.release(), &X509_CRL_free); }

constexpr std::size_t kMaxLocalCrlFiles = 1000;

struct OcspEntry {
  Finding finding;
  std::string source;
  std::time_t expires = 0;
};

struct CrlEntry {
  CrlShared crl;
  std::size_t bytes = 0;
  std::time_t expires = 0;
};

struct FailureEntry {
  std::string why;
  std::time_t expires = 0;
};

struct LocalCrl {
  std::string name;
  CrlShared crl;
};

struct LocalCrls {
  std::time_t mtime = 0;
  long mtime_ns = 0;
  std::vector<LocalCrl> crls;
};

template <typename Map>
void make_room(Map& map, std::size_t max, std::time_t now) {
  if (map.size() < max) return;
  std::erase_if(map, [now](const auto& kv) { return kv.second.expires <= now; });
  if (map.size() >= max) map.clear();
}

std::string read_small_file(const std::filesystem::path& path, std::size_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string data;
  data.resize(max + 1);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(in.gcount()));
  if (data.size() > max) return {};
  return data;
}

}  // namespace

struct Checker::State {
  mutable std::mutex mutex;
  std::unordered_map<std::string, OcspEntry> ocsp;
  std::unordered_map<std::string, CrlEntry> crls;
  std::size_t crl_bytes = 0;
  std::unordered_map<std::string, FailureEntry> failures;
  std::shared_ptr<const LocalCrls> local;
  Stats stats;
};

Checker::Checker(Settings settings) : settings_(std::move(settings)), state_(std::make_unique<State>()) {}
Checker::~Checker() = default;

Stats Checker::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

void Checker::clear_cache() {
  std::lock_guard lock(state_->mutex);
  state_->ocsp.clear();
  state_->crls.clear();
  state_->crl_bytes = 0;
  state_->failures.clear();
  state_->local.reset();
}

namespace {

class Run {
 public:
  Run(const Settings& s, Checker::State& state, X509* cert, X509* issuer)
      : s_(s), state_(state), cert_(cert), issuer_(issuer), budget_(s.max_fetches_per_check) {
    window_.now = s.clock ? s.clock() : std::time(nullptr);
    window_.skew = s.clock_skew;
    window_.require_nonce = s.require_nonce;
  }

  std::optional<Result> ocsp() {
    if (!s_.use_ocsp) return std::nullopt;
    const std::vector<std::string> urls = ocsp_urls(cert_);
    if (urls.empty()) {
      attempts_.push_back("ocsp: no responder URL in the certificate");
      return std::nullopt;
    }
    const std::string id = ocsp_cert_id(cert_, issuer_);
    {
      std::lock_guard lock(state_.mutex);
      auto it = state_.ocsp.find(id);
      if (it != state_.ocsp.end()) {
        if (it->second.expires > window_.now) {
          ++state_.stats.cache_hits;
          return answer(it->second.finding, it->second.source, true);
        }
        state_.ocsp.erase(it);
      }
    }
    Window w = window_;
    w.max_age = s_.ocsp_max_age;
    for (const std::string& url : urls) {
      const std::string source = "ocsp " + url;
      if (!usable_url(source, url, id)) continue;
      if (!take_budget(source)) break;
      OcspQuery query = make_ocsp_query(cert_, issuer_, s_.ocsp_nonce);
      count(state_.stats.ocsp_requests);
      Finding f;
      try {
        const HttpResponse response = http_post(url, "application/ocsp-request", query.der, s_.http);
        f = evaluate_ocsp_response(response.body, query, cert_, issuer_, w);
      } catch (const FetchError& e) {
        fail(source, e.what());
        continue;
      }
      if (f.status == Status::unknown) {
        fail(source, f.why, id);  // about this certificate's answer, not the responder as a whole
        continue;
      }
      std::time_t expires = f.next_update != 0
                                ? std::min<std::time_t>(f.next_update, window_.now + s_.ocsp_max_age.count())
                                : f.this_update + s_.ocsp_max_age.count();
      if (expires > window_.now) {
        std::lock_guard lock(state_.mutex);
        make_room(state_.ocsp, s_.max_cache_entries, window_.now);
        state_.ocsp[id] = OcspEntry{f, source, expires};
      }
      return answer(f, source, false);
    }
    return std::nullopt;
  }

  std::optional<Result> crl() {
    if (!s_.use_crl) return std::nullopt;
    Window w = window_;
    w.max_age = s_.crl_max_age;
    bool any_local = false;
    if (!s_.crl_directory.empty()) {
      std::shared_ptr<const LocalCrls> local = local_crls();
      const LocalCrl* best = nullptr;
      for (const LocalCrl& c : local->crls) {
        if (X509_NAME_cmp(X509_CRL_get_issuer(c.crl.get()), X509_get_issuer_name(cert_)) != 0) continue;
        any_local = true;
        if (std::string why = crl_problem(c.crl.get(), cert_, issuer_, w); !why.empty()) {
          attempts_.push_back("crl file " + c.name + ": " + why);
          continue;
        }
        if (best == nullptr ||
            to_time(X509_CRL_get0_lastUpdate(c.crl.get())) > to_time(X509_CRL_get0_lastUpdate(best->crl.get()))) {
          best = &c;
        }
      }
      if (best != nullptr) return answer(crl_lookup(best->crl.get(), cert_), "crl file " + best->name, false);
    }
    const std::vector<std::string> urls = crl_urls(cert_);
    if (urls.empty()) {
      attempts_.push_back(any_local ? "crl: no distribution point in the certificate"
                                    : "crl: no distribution point in the certificate and no local CRL");
      return std::nullopt;
    }
    const std::string issuer_fp = ossl::sha256_fingerprint(issuer_);
    for (const std::string& url : urls) {
      const std::string source = "crl " + url;
      if (!usable_url(source, url, issuer_fp)) continue;
      const std::string key = url + " " + issuer_fp;
      CrlShared cached;
      {
        std::lock_guard lock(state_.mutex);
        auto it = state_.crls.find(key);
        if (it != state_.crls.end()) {
          if (it->second.expires > window_.now) {
            ++state_.stats.cache_hits;
            cached = it->second.crl;
          } else {
            state_.crl_bytes -= it->second.bytes;
            state_.crls.erase(it);
          }
        }
      }
      if (cached) {
        // Verified when fetched; checked again for this certificate (scope, skew).
        if (std::string why = crl_problem(cached.get(), cert_, issuer_, w); !why.empty()) {
          attempts_.push_back(source + ": " + why);
          continue;
        }
        return answer(crl_lookup(cached.get(), cert_), source, true);
      }
      if (!take_budget(source)) break;
      count(state_.stats.crl_requests);
      std::string body;
      try {
        body = http_get(url, s_.http).body;
      } catch (const FetchError& e) {
        fail(source, e.what());
        continue;
      }
      std::vector<ossl::X509CrlPtr> parsed;
      try {
        parsed = ossl::read_crls(body);
      } catch (const ossl::Error&) {
        parsed.clear();
      }
      if (parsed.empty()) {
        fail(source, "the response is not a CRL", issuer_fp);
        continue;
      }
      CrlShared c = shared_crl(std::move(parsed.front()));
      if (std::string why = crl_problem(c.get(), cert_, issuer_, w); !why.empty()) {
        fail(source, why, issuer_fp);
        continue;
      }
      const ASN1_TIME* next_t = X509_CRL_get0_nextUpdate(c.get());
      const std::time_t expires =
          next_t != nullptr ? to_time(next_t) : to_time(X509_CRL_get0_lastUpdate(c.get())) + s_.crl_max_age.count();
      if (expires > window_.now) {
        std::lock_guard lock(state_.mutex);
        const std::size_t budget_bytes = s_.max_cache_entries > 0 ? 64 * s_.http.max_response_bytes : 0;
        if (state_.crls.size() >= s_.max_cache_entries || state_.crl_bytes + body.size() > budget_bytes) {
          std::erase_if(state_.crls, [&](const auto& kv) {
            if (kv.second.expires > window_.now) return false;
            state_.crl_bytes -= kv.second.bytes;
            return true;
          });
          if (state_.crls.size() >= s_.max_cache_entries || state_.crl_bytes + body.size() > budget_bytes) {
            state_.crls.clear();
            state_.crl_bytes = 0;
          }
        }
        if (body.size() <= budget_bytes) {
          auto& slot = state_.crls[key];
          state_.crl_bytes -= slot.bytes;
          slot = CrlEntry{c, body.size(), expires};
          state_.crl_bytes += body.size();
        }
      }
      return answer(crl_lookup(c.get(), cert_), source, false);
    }
    return std::nullopt;
  }

  Result unknown() const {
    Result r;
    r.status = Status::unknown;
    for (const std::string& a : attempts_) r.why += (r.why.empty() ? "" : "; ") + a;
    if (r.why.empty()) r.why = "no revocation source is enabled";
    return r;
  }

 private:
  Result answer(const Finding& f, const std::string& source, bool cached) const {
    Result r;
    r.status = f.status;
    r.source = source;
    r.from_cache = cached;
    r.reason_code = f.reason_code;
    r.reason = f.reason;
    r.revoked_at = f.revoked_at;
    r.this_update = f.this_update;
    r.next_update = f.next_update;
    return r;
  }

  void count(std::uint64_t& counter) {
    std::lock_guard lock(state_.mutex);
    ++counter;
  }

  // Whether `url` can be fetched and has not failed recently, as a whole
  // (transport) or for `scope` (this certificate's / issuer's answer).
  bool usable_url(const std::string& source, const std::string& url, const std::string& scope) {
    std::string why;
    if (!parse_http_url(url, &why)) {
      attempts_.push_back(source + ": " + why);
      return false;
    }
    std::lock_guard lock(state_.mutex);
    for (const std::string& key : {source, source + "|" + scope}) {
      auto it = state_.failures.find(key);
      if (it == state_.failures.end()) continue;
      if (it->second.expires <= window_.now) {
        state_.failures.erase(it);
        continue;
      }
      ++state_.stats.cache_hits;
      attempts_.push_back(source + ": " + it->second.why + " (failed recently; not asked again until " +
                          ossl::utc_text(it->second.expires) + ")");
      return false;
    }
    return true;
  }

  bool take_budget(const std::string& source) {
    if (budget_ == 0) {
      attempts_.push_back(source + ": not asked (fetch limit per check reached)");
      return false;
    }
    --budget_;
    return true;
  }

  // Remembers a failure for failure_ttl: of the URL as a whole (scope
  // empty: it could not be reached) or of its answer for `scope`.
  void fail(const std::string& source, const std::string& why, const std::string& scope = {}) {
    attempts_.push_back(source + ": " + why);
    if (s_.failure_ttl.count() <= 0) return;
    std::lock_guard lock(state_.mutex);
    make_room(state_.failures, s_.max_cache_entries, window_.now);
    state_.failures[scope.empty() ? source : source + "|" + scope] =
        FailureEntry{why, window_.now + s_.failure_ttl.count()};
  }

  std::shared_ptr<const LocalCrls> local_crls() {
    struct stat st {};
    const bool exists = ::stat(s_.crl_directory.c_str(), &st) == 0;
    {
      std::lock_guard lock(state_.mutex);
      if (state_.local && exists && state_.local->mtime == st.st_mtim.tv_sec &&
          state_.local->mtime_ns == st.st_mtim.tv_nsec) {
        return state_.local;
      }
    }
    auto fresh = std::make_shared<LocalCrls>();
    if (!exists) {
      attempts_.push_back("crl: directory " + s_.crl_directory.filename().string() + " is missing");
      return fresh;
    }
    fresh->mtime = st.st_mtim.tv_sec;
    fresh->mtime_ns = st.st_mtim.tv_nsec;
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(s_.crl_directory, ec)) {
      if (files.size() >= kMaxLocalCrlFiles) break;
      if (entry.is_regular_file(ec) && entry.path().filename().string().front() != '.') files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const std::string bytes = read_small_file(file, s_.http.max_response_bytes);
      if (bytes.empty()) continue;
      try {
        for (auto& c : ossl::read_crls(bytes))
          fresh->crls.push_back({file.filename().string(), shared_crl(std::move(c))});
      } catch (const ossl::Error&) {
        // not a CRL: skipped (the key store reports malformed files)
      }
    }
    std::lock_guard lock(state_.mutex);
    state_.local = fresh;
    return fresh;
  }

  const Settings& s_;
  Checker::State& state_;
  X509* cert_;
  X509* issuer_;
  std::size_t budget_;
  Window window_;
  std::vector<std::string> attempts_;
};

}  // namespace

Result Checker::check(X509* cert, X509* issuer) const {
  Run run(settings_, *state_, cert, issuer);
  std::optional<Result> found;
  if (settings_.prefer_ocsp) {
    found = run.ocsp();
    if (!found) found = run.crl();
  } else {
    found = run.crl();
    if (!found) found = run.ocsp();
  }
  Result r = found ? std::move(*found) : run.unknown();
  r.subject = ossl::subject_text(cert);
  r.serial = ossl::serial_text(cert);
  switch (r.status) {
    case Status::good:
      r.accepted = true;
      break;
    case Status::revoked:
      r.accepted = false;
      break;
    case Status::unknown:
      r.accepted = settings_.mode == Mode::soft_fail;
      r.note = r.accepted ? "soft-fail: accepted without revocation information"
                          : "hard-fail: refused without revocation information";
      break;
  }
  return r;
}

ChainResult Checker::check_chain(const std::vector<X509*>& chain) const {
  ChainResult out;
  // The last certificate is the trust anchor: trusted by configuration, not checked.
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
    Result r = check(chain[i], chain[i + 1]);
    const bool ok = r.accepted;
    out.results.push_back(std::move(r));
    if (!ok) {
      out.accepted = false;
      break;
    }
  }
  return out;
}

ChainResult Checker::check_chain(STACK_OF(X509) * chain) const {
  std::vector<X509*> certs;
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) certs.push_back(sk_X509_value(chain, i));
  return check_chain(certs);
}

}  // namespace postern::revocation
