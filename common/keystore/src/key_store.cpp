#include "postern/keystore/key_store.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "external.hpp"
#include "files.hpp"
#include "postern/core/strings.hpp"
#include "postern/gpg/keyring.hpp"
#include "postern/ossl/certificate.hpp"
#include "postern/ossl/error.hpp"
#include "postern/ossl/pem_der.hpp"
#include "snapshot.hpp"

namespace postern::keystore {
namespace {

namespace fs = std::filesystem;

struct Usable {
  const StoredCertificate* stored;
  ossl::X509Stack chain;  // from X509_verify_cert: the certificate first, the anchor last
};

ossl::X509Stack intermediates_of(const KeyStore::Snapshot& snap, const StoredCertificate& c) {
  ossl::X509Stack out = ossl::make_x509_stack();
  auto push = [&out](X509* cert) {
    ossl::X509Ptr shared = ossl::share(cert);
    if (sk_X509_push(out.get(), shared.get()) <= 0) throw ossl::Error("sk_X509_push");
    shared.release();
  };
  for (const auto& x : c.extra) push(x.get());
  for (const auto& s : snap.certificates) {
    if (s.entry.shelf == Shelf::intermediates) push(s.certificate.get());
  }
  return out;
}

// "" and the chain when `c` chains to an anchor, else why not. A chain
// that verified is reused while `now` is inside its validity window.
std::string verify_chain(const KeyStore::Snapshot& snap, const StoredCertificate& c, std::time_t now,
                         ossl::X509Stack& chain) {
  {
    std::lock_guard lock(snap.keys_mutex);
    auto it = snap.chains.find(c.entry.fingerprint);
    if (it != snap.chains.end() && now >= it->second.from && now <= it->second.until) {
      chain.reset(X509_chain_up_ref(it->second.chain.get()));
      if (!chain) throw ossl::Error("X509_chain_up_ref");
      return {};
    }
  }
  ossl::X509Stack untrusted = intermediates_of(snap, c);
  ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), snap.trust.get(), c.certificate.get(), untrusted.get()) != 1) {
    throw ossl::Error("X509_STORE_CTX_init");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, now);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return std::string("no chain to a trust anchor (") + X509_verify_cert_error_string(err) + ")";
  }
  chain.reset(X509_STORE_CTX_get1_chain(ctx.get()));
  KeyStore::Snapshot::VerifiedChain verified{ossl::X509Stack(X509_chain_up_ref(chain.get())), 0, 0};
  if (!verified.chain) throw ossl::Error("X509_chain_up_ref");
  for (int i = 0; i < sk_X509_num(chain.get()); ++i) {
    X509* x = sk_X509_value(chain.get(), i);
    const std::time_t from = ossl::not_before(x);
    const std::time_t until = ossl::not_after(x);
    verified.from = i == 0 ? from : std::max(verified.from, from);
    verified.until = i == 0 ? until : std::min(verified.until, until);
  }
  std::lock_guard lock(snap.keys_mutex);
  snap.chains.insert_or_assign(c.entry.fingerprint, std::move(verified));
  return {};
}

// Whether a stored CRL, signed by the issuer next in the chain, lists a
// certificate of the chain (the anchor excepted).
std::string revocation(const KeyStore::Snapshot& snap, STACK_OF(X509) * chain) {
  const int n = sk_X509_num(chain);
  for (int i = 0; i + 1 < n; ++i) {
    X509* cert = sk_X509_value(chain, i);
    X509* issuer = sk_X509_value(chain, i + 1);
    for (const auto& crl : snap.crls) {
      if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(issuer)) != 0) continue;
      EVP_PKEY* pub = X509_get0_pubkey(issuer);
      if (pub == nullptr || X509_CRL_verify(crl.get(), pub) != 1) {
        ERR_clear_error();
        continue;  // not this issuer's CRL (or forged): proves nothing
      }
      X509_REVOKED* entry = nullptr;
      if (X509_CRL_get0_by_cert(crl.get(), &entry, cert) == 1) {
        return i == 0 ? "revoked" : "revoked (issuer " + ossl::subject_text(cert) + ")";
      }
    }
  }
  ERR_clear_error();
  return {};
}

// The first check `c` fails, in the documented order; "" when usable.
std::string check(const KeyStore::Snapshot& snap, const StoredCertificate& c, ossl::Purpose purpose, std::time_t now,
                  ossl::X509Stack& chain) {
  if (now < c.entry.not_before) return "not yet valid";
  if (now > c.entry.not_after) return "expired";
  if (!ossl::key_usage_allows(c.certificate.get(), purpose)) return "wrong key usage";
  if (auto why = verify_chain(snap, c, now, chain); !why.empty()) return why;
  return revocation(snap, chain.get());
}

// The private key in `file`, parsed once per snapshot.
ossl::PkeyPtr private_key(const KeyStore::Snapshot& snap, const fs::path& file) {
  std::lock_guard lock(snap.keys_mutex);
  auto it = snap.keys.find(file);
  if (it == snap.keys.end()) {
    ossl::PkeyPtr key = ossl::read_private_key(files::read_file(file));
    if (!key) return key;
    it = snap.keys.emplace(file, std::move(key)).first;
  }
  if (EVP_PKEY_up_ref(it->second.get()) != 1) throw ossl::Error("EVP_PKEY_up_ref");
  return ossl::PkeyPtr(it->second.get());
}

struct Candidates {
  std::vector<Usable> usable;  // best first
  std::vector<Rejection> rejected;
};

// `pool`: other certificates to judge against the store (an external
// source's); by default the stored ones.
Candidates candidates(const KeyStore::Snapshot& snap, std::string_view address, ossl::Purpose purpose,
                      std::time_t now, const std::vector<StoredCertificate>* pool = nullptr) {
  Candidates out;
  std::vector<std::string> seen;
  for (const auto& c : pool != nullptr ? *pool : snap.certificates) {
    const bool shelf_fits = purpose == ossl::Purpose::sign
                                ? c.entry.shelf == Shelf::private_keys
                                : c.entry.shelf == Shelf::private_keys || c.entry.shelf == Shelf::certs;
    if (!shelf_fits) continue;
    const bool addressed = std::any_of(c.entry.emails.begin(), c.entry.emails.end(),
                                       [&](const std::string& e) { return ossl::same_address(e, address); });
    if (!addressed) continue;
    if (std::find(seen.begin(), seen.end(), c.entry.fingerprint) != seen.end()) continue;
    seen.push_back(c.entry.fingerprint);
    ossl::X509Stack chain;
    std::string why = check(snap, c, purpose, now, chain);
    if (why.empty() && purpose == ossl::Purpose::sign) {
      std::error_code ec;
      if (!fs::exists(c.key_file, ec)) {
        why = "no private key";
      } else {
        why = files::insecure_mode(c.key_file, false);
      }
    }
    if (!why.empty()) {
      out.rejected.push_back({c.entry.fingerprint, c.entry.subject, why});
      continue;
    }
    out.usable.push_back({&c, std::move(chain)});
  }
  std::stable_sort(out.usable.begin(), out.usable.end(), [](const Usable& a, const Usable& b) {
    return a.stored->entry.not_before > b.stored->entry.not_before;
  });
  return out;
}

// What the external source answers for an address, judged like stored
// certificates; those the store holds itself were judged already.
struct External {
  std::vector<StoredCertificate> found;  // what judged.usable points into
  Candidates judged;
  std::string error;  // the source failed
};

External ask(const KeyStore::Snapshot& snap, const ExternalSource& source, std::string_view address,
             std::time_t now) {
  External out;
  lookup::Lookup<std::vector<std::string>> answer = source.fetch(address);
  if (answer.failed()) {
    out.error = answer.error.rfind(source.name + ":", 0) == 0 ? answer.error : source.name + ": " + answer.error;
    return out;
  }
  std::vector<Rejection> unusable;
  out.found = external_certificates(*answer.value, address, unusable);
  std::erase_if(out.found, [&](const StoredCertificate& f) {
    return std::any_of(snap.certificates.begin(), snap.certificates.end(),
                       [&](const StoredCertificate& s) { return s.entry.fingerprint == f.entry.fingerprint; });
  });
  out.judged = candidates(snap, address, ossl::Purpose::encrypt, now, &out.found);
  out.judged.rejected.insert(out.judged.rejected.end(), unusable.begin(), unusable.end());
  for (auto& r : out.judged.rejected) r.origin = source.name;
  return out;
}

}  // namespace

const char* to_string(Shelf s) noexcept {
  switch (s) {
    case Shelf::certs:
      return "certs";
    case Shelf::private_keys:
      return "private";
    case Shelf::anchors:
      return "anchors";
    case Shelf::intermediates:
      return "intermediates";
  }
  return "?";
}

template <typename T>
std::string Selection<T>::why_none() const {
  if (best) return {};
  std::string out;
  for (const auto& r : rejected) {
    out += (out.empty() ? "" : "; ") + (r.fingerprint.empty() ? std::string("?") : r.fingerprint.substr(0, 16)) +
           (r.origin.empty() ? "" : " (" + r.origin + ")") + ": " + r.reason;
  }
  if (!lookup_error.empty()) out += (out.empty() ? "" : "; ") + std::string("lookup failed: ") + lookup_error;
  if (out.empty()) return "no certificate for the address";
  return out;
}
template struct Selection<EncryptionCertificate>;
template struct Selection<SigningIdentity>;

KeyStore::KeyStore(std::filesystem::path root, std::optional<std::time_t> now)
    : root_(std::move(root)), fixed_now_(now) {}

KeyStore::~KeyStore() = default;

std::time_t KeyStore::now() const { return fixed_now_ ? *fixed_now_ : std::time(nullptr); }

std::shared_ptr<const KeyStore::Snapshot> KeyStore::snapshot() const {
  const auto stamps = directory_stamps(root_);
  {
    std::lock_guard lock(mutex_);
    if (cached_ && cached_->stamps == stamps) return cached_;
  }
  auto fresh = scan(root_);
  // A change made in the same clock tick as the scan would leave the
  // stamps alone: a store touched in the last seconds is not cached.
  const std::time_t t = std::time(nullptr);
  bool recent = false;
  for (const char* d : {"certs", "private", "anchors", "intermediates", "crls"}) {
    recent = recent || files::recently_changed(root_ / d, t);
  }
  std::lock_guard lock(mutex_);
  cached_ = recent ? nullptr : fresh;
  return fresh;
}

std::vector<std::string> KeyStore::problems() const {
  const auto snap = snapshot();
  std::vector<std::string> out = snap->problems;
  if (!snap->private_problem.empty()) out.insert(out.begin(), snap->private_problem);
  return out;
}

void KeyStore::set_external_source(ExternalSource source) {
  if (source.fetch) {
    external_ = std::move(source);
  } else {
    external_.reset();
  }
}

Selection<EncryptionCertificate> KeyStore::select_encryption_certificate(std::string_view address) const {
  return select_encryption_certificate(address, nullptr);
}

Selection<EncryptionCertificate> KeyStore::select_encryption_certificate(std::string_view address,
                                                                         const Veto& veto) const {
  const auto snap = snapshot();
  Candidates c = candidates(*snap, address, ossl::Purpose::encrypt, now());
  Selection<EncryptionCertificate> out;
  out.rejected = std::move(c.rejected);
  // The first usable candidate the veto (revocation) lets through; the
  // refused ones join the rejections.
  auto pick = [&](const std::vector<Usable>& usable, const std::string& origin) -> bool {
    for (const Usable& u : usable) {
      const StoredCertificate& s = *u.stored;
      if (veto) {
        if (std::string why = veto(s.certificate.get(), u.chain.get()); !why.empty()) {
          out.rejected.push_back({s.entry.fingerprint, s.entry.subject, std::move(why), origin});
          continue;
        }
      }
      const auto& caps = s.entry.provenance ? s.entry.provenance->capabilities : std::vector<std::string>{};
      out.best = EncryptionCertificate{ossl::share(s.certificate.get()), s.entry.fingerprint, origin,
                                       std::find(caps.begin(), caps.end(), "aes256-gcm") != caps.end()};
      return true;
    }
    return false;
  };
  if (!pick(c.usable, "") && external_) {
    External ext = ask(*snap, *external_, address, now());
    out.rejected.insert(out.rejected.end(), ext.judged.rejected.begin(), ext.judged.rejected.end());
    out.lookup_error = ext.error;
    pick(ext.judged.usable, external_->name);
  }
  return out;
}

Selection<SigningIdentity> KeyStore::select_signing_identity(std::string_view address) const {
  const auto snap = snapshot();
  if (!snap->private_problem.empty()) throw KeyStoreError(snap->private_problem);
  Candidates c = candidates(*snap, address, ossl::Purpose::sign, now());
  Selection<SigningIdentity> out;
  out.rejected = std::move(c.rejected);
  for (auto& u : c.usable) {
    const StoredCertificate& s = *u.stored;
    try {
      ossl::PkeyPtr key = private_key(*snap, s.key_file);
      if (!ossl::key_matches(s.certificate.get(), key.get())) {
        out.rejected.push_back({s.entry.fingerprint, s.entry.subject, "the private key does not match"});
        continue;
      }
      SigningIdentity id{ossl::share(s.certificate.get()), std::move(key), ossl::make_x509_stack(),
                         s.entry.fingerprint};
      // The chain without the certificate itself and without the anchor.
      const int n = sk_X509_num(u.chain.get());
      for (int i = 1; i + 1 < n; ++i) {
        ossl::X509Ptr x = ossl::share(sk_X509_value(u.chain.get(), i));
        if (sk_X509_push(id.chain.get(), x.get()) <= 0) throw ossl::Error("sk_X509_push");
        x.release();
      }
      out.best = std::move(id);
      break;
    } catch (const std::exception& e) {
      ERR_clear_error();
      out.rejected.push_back(
          {s.entry.fingerprint, s.entry.subject, std::string("unreadable private key: ") + e.what()});
    }
  }
  return out;
}

std::vector<DecryptionIdentity> KeyStore::decryption_identities(std::string_view address) const {
  const auto snap = snapshot();
  if (!snap->private_problem.empty()) throw KeyStoreError(snap->private_problem);
  std::vector<const StoredCertificate*> found;
  for (const auto& c : snap->certificates) {
    if (c.entry.shelf != Shelf::private_keys) continue;
    if (std::none_of(c.entry.emails.begin(), c.entry.emails.end(),
                     [&](const std::string& e) { return ossl::same_address(e, address); })) {
      continue;
    }
    if (std::any_of(found.begin(), found.end(),
                    [&](const StoredCertificate* f) { return f->entry.fingerprint == c.entry.fingerprint; })) {
      continue;
    }
    // UINT32_MAX without a keyUsage extension: any use.
    if ((X509_get_key_usage(c.certificate.get()) & (KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT)) == 0) continue;
    found.push_back(&c);
  }
  std::stable_sort(found.begin(), found.end(), [](const StoredCertificate* a, const StoredCertificate* b) {
    return a->entry.not_before > b->entry.not_before;
  });
  std::vector<DecryptionIdentity> out;
  for (const StoredCertificate* s : found) {
    std::error_code ec;
    if (!fs::exists(s->key_file, ec) || !files::insecure_mode(s->key_file, false).empty()) continue;
    try {
      ossl::PkeyPtr key = ossl::read_private_key(files::read_file(s->key_file));
      if (!key || !ossl::key_matches(s->certificate.get(), key.get())) continue;
      out.push_back({ossl::share(s->certificate.get()), std::move(key), s->entry.fingerprint});
    } catch (const std::exception&) {
      ERR_clear_error();
    }
  }
  return out;
}

ossl::X509StorePtr KeyStore::verification_store() const {
  const auto snap = snapshot();
  ossl::X509StorePtr store(X509_STORE_new());
  if (!store) throw ossl::Error("X509_STORE_new");
  for (const auto& c : snap->certificates) {
    if (c.entry.shelf != Shelf::anchors && c.entry.shelf != Shelf::intermediates) continue;
    if (c.entry.shelf == Shelf::anchors && !ossl::is_self_signed(c.certificate.get())) continue;
    if (X509_STORE_add_cert(store.get(), c.certificate.get()) != 1) ERR_clear_error();
  }
  for (const auto& crl : snap->crls) {
    if (X509_STORE_add_crl(store.get(), crl.get()) != 1) ERR_clear_error();
  }
  return store;
}

std::vector<Entry> KeyStore::list() const {
  const auto snap = snapshot();
  std::vector<Entry> out;
  for (const auto& c : snap->certificates) out.push_back(c.entry);
  return out;
}

std::optional<std::string> KeyStore::export_certificate(std::string_view address) const {
  const auto snap = snapshot();
  Candidates enc = candidates(*snap, address, ossl::Purpose::encrypt, now());
  if (!enc.usable.empty()) return ossl::to_pem(enc.usable.front().stored->certificate.get());
  if (!snap->private_problem.empty()) return std::nullopt;
  Candidates sig = candidates(*snap, address, ossl::Purpose::sign, now());
  if (!sig.usable.empty()) return ossl::to_pem(sig.usable.front().stored->certificate.get());
  return std::nullopt;
}

// GPGME runs gpg for every listing: answers are kept while the keyring's
// files are unchanged, for at most a minute (keys expire as time passes).
bool KeyStore::pgp_answer(const std::filesystem::path& home, std::string_view address, gpg::Use use) const {
  std::string stamp;
  for (const char* f : {"", "pubring.kbx", "pubring.gpg", "trustdb.gpg", "private-keys-v1.d"}) {
    stamp += files::stamp(home / f) + "|";
  }
  const std::time_t t = std::time(nullptr);
  const std::string key = std::string(use == gpg::Use::encrypt ? "e:" : "s:") + core::ascii_lower(address);
  {
    std::lock_guard lock(mutex_);
    if (pgp_stamp_ != stamp || t - pgp_since_ > 60 || pgp_cache_.size() > 10000) {
      pgp_cache_.clear();
      pgp_stamp_ = stamp;
      pgp_since_ = t;
    }
    if (auto it = pgp_cache_.find(key); it != pgp_cache_.end()) return it->second;
  }
  const bool yes = gpg::Keyring(home).has_usable_key(address, use);
  bool recent = false;  // a change in the same clock tick would not show in the stamp
  for (const char* f : {"", "pubring.kbx", "pubring.gpg", "trustdb.gpg", "private-keys-v1.d"}) {
    recent = recent || files::recently_changed(home / f, t);
  }
  std::lock_guard lock(mutex_);
  if (pgp_stamp_ == stamp && !recent) pgp_cache_[key] = yes;
  return yes;
}

lookup::Lookup<bool> KeyStore::has_usable_key(std::string_view address, lookup::KeyKind kind) const {
  try {
    switch (kind) {
      case lookup::KeyKind::smime_encrypt: {
        const auto snap = snapshot();
        const bool stored = !candidates(*snap, address, ossl::Purpose::encrypt, now()).usable.empty();
        if (stored || !external_) return lookup::Lookup<bool>::answer(stored);
        External ext = ask(*snap, *external_, address, now());
        if (!ext.error.empty()) return lookup::Lookup<bool>::failure(ext.error);
        return lookup::Lookup<bool>::answer(!ext.judged.usable.empty());
      }
      case lookup::KeyKind::smime_sign: {
        const auto snap = snapshot();
        if (!snap->private_problem.empty()) return lookup::Lookup<bool>::failure(snap->private_problem);
        return lookup::Lookup<bool>::answer(!candidates(*snap, address, ossl::Purpose::sign, now()).usable.empty());
      }
      case lookup::KeyKind::pgp_encrypt:
      case lookup::KeyKind::pgp_sign: {
        std::error_code ec;
        if (!fs::is_directory(root_, ec))
          throw KeyStoreError("the key store " + root_.string() + " is not a directory");
        const fs::path home = root_ / "gnupg";
        if (!fs::is_directory(home, ec)) return lookup::Lookup<bool>::answer(false);
        const auto use = kind == lookup::KeyKind::pgp_encrypt ? gpg::Use::encrypt : gpg::Use::sign;
        return lookup::Lookup<bool>::answer(pgp_answer(home, address, use));
      }
    }
    return lookup::Lookup<bool>::failure("unknown key kind");
  } catch (const std::exception& e) {
    ERR_clear_error();
    return lookup::Lookup<bool>::failure(std::string("key store: ") + e.what());
  }
}

}  // namespace postern::keystore
