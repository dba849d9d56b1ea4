// NAME
//   key_store - the local store of keys and certificates (/var/lib/postern)
// SUMMARY
//   auto store = std::make_shared<keystore::KeyStore>("/var/lib/postern");
//   auto enc = store->select_encryption_certificate("b@example.net");
//   if (!enc.best) log::info(qid, "no-certificate", {{"why", enc.why_none()}});
//   auto id = store->select_signing_identity("a@example.org");   // cert + key + chain
//   for (auto& d : store->decryption_identities("a@example.org")) ...   // every key that decrypts
//   ossl::X509StorePtr trust = store->verification_store();       // for CMS_verify
//   store->harvest(signer_cert, "signed mail from <a@example.org> 4Q2x1B0kzNz");
//   std::shared_ptr<const lookup::KeyFinder> keys = store;        // for postern-policy
// DESCRIPTION
//   The layout under the root (docs/keys.md):
//     certs/FP.pem + FP.meta     other people's certificates (harvested or
//                                imported), FP = SHA-256 fingerprint (hex)
//     private/FP.pem + FP.key    our users' certificates (with chain) and
//                                private keys; directory 0700, keys 0600
//     private/FP.meta
//     anchors/FP.pem             trust anchors (root certificates)
//     intermediates/FP.pem       intermediate CA certificates
//     crls/FP.pem                CRLs, FP = SHA-256 of the CRL
//     gnupg/                     the GnuPG home for OpenPGP (docs/keys.md)
//   Every write is a temporary file in the same directory renamed into
//   place, so a reader sees a whole file or none.
//
//   Selection: a candidate is every certificate (certs/ and private/ for
//   encryption, private/ with its key for signing) whose subjectAltName
//   rfc822Name or subject emailAddress is the address (ASCII
//   case-insensitive). It is usable when it is inside its validity period,
//   its key usage and extended key usage allow the purpose
//   (ossl/certificate.hpp), it chains to an anchor through the stored
//   intermediates, and no stored CRL signed by an issuer in its chain lists
//   it. The best usable one is the one with the latest notBefore (the
//   newest issued). The others are returned with one reason each, the
//   first check they fail in that order: "not yet valid", "expired",
//   "wrong key usage", "no chain to a trust anchor (...)", "revoked".
//   A caller may add a check of its own (a veto, e.g. an OCSP check): it is
//   asked about the usable candidates, best first, until one passes; a
//   vetoed one is rejected with the veto's reason, so the next best is used.
//
//   External source (set_external_source, e.g. postern-crypto's LDAP
//   directory): when the store has no usable encryption certificate for an
//   address, the source is asked and its certificates (DER X.509, or a DER
//   PKCS#7 / CMS SignedData certs-only blob such as userSMIMECertificate,
//   whose other certificates help build the chain) are judged by the same
//   rules: the address, validity, key usage, a chain to the store's anchors
//   through the stored intermediates and the blob's own certificates, the
//   stored CRLs. A certificate that does not carry the address is rejected
//   ("not issued to the address"). Their Rejections and the chosen
//   EncryptionCertificate name the source in `origin`. Local certificates
//   are preferred; nothing the source answers is written to the store
//   (the source caches). A source that fails (server down) is not "no
//   certificate": Selection::lookup_error is set, and has_usable_key()
//   answers Lookup::failure, so the caller can tempfail instead of applying
//   a fallback. Signing identities never come from the source.
//
//   Reading: each query stats the five directories; when none changed
//   (mtime and size) since the last scan, the cached snapshot is used,
//   otherwise the store is scanned again. Adding, replacing or removing a
//   file renames or unlinks in a directory, which changes its mtime, so
//   posternctl's changes are seen by the next query. Private keys are read
//   only when a signing identity is selected, not by the scan.
//
//   KeyFinder: smime_encrypt / smime_sign answer whether selection finds a
//   usable certificate (and key file). pgp_encrypt / pgp_sign ask the GnuPG
//   home root/gnupg through GPGME (gpg/keyring.hpp: not revoked, expired,
//   disabled or invalid, a valid user id with the address, a capable
//   subkey, and a secret key for signing); answers are cached while the
//   keyring files are unchanged, for at most 60 seconds.
// DIAGNOSTICS
//   KeyStoreError for a store that cannot be read or written: a missing or
//   unreadable directory, a private/ directory or key file that group or
//   others may read ("... mode 0640: chmod 600 ..."), a malformed file
//   (its name is given). Import problems are ImportError. Queries through
//   KeyFinder turn KeyStoreError into Lookup::failure.
// THREADS
//   Safe from any thread: the snapshot is immutable and swapped under a
//   mutex; writes are atomic renames. Several processes may share a root.
#pragma once

#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "postern/lookup/keys.hpp"
#include "postern/ossl/handles.hpp"

namespace postern::gpg {
enum class Use;  // gpg/keyring.hpp
}  // namespace postern::gpg

namespace postern::keystore {

inline constexpr char kDefaultRoot[] = "/var/lib/postern";

class KeyStoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ImportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where a certificate lives in the store.
enum class Shelf { certs, private_keys, anchors, intermediates };
const char* to_string(Shelf s) noexcept;  // "certs", "private", "anchors", "intermediates"

// The sidecar FP.meta: how a certificate came into the store.
struct Provenance {
  std::string how;     // "import" or "harvest"
  std::string source;  // the file imported, or what the harvester said
  std::string added;   // UTC, "2026-11-24T23:10:00Z"
  // The content ciphers the owner's last verified signature announced
  // (SMIMECapabilities, smime::SignatureResult::capabilities), e.g.
  // {"aes256-gcm", "aes256-cbc"}; empty: unknown. Sidecar line
  // "capabilities: aes256-gcm,aes256-cbc" (absent in older files).
  std::vector<std::string> capabilities;
};

// One stored certificate, as a listing shows it.
struct Entry {
  Shelf shelf = Shelf::certs;
  std::string fingerprint;  // SHA-256, 64 lowercase hex digits
  std::string subject;
  std::string issuer;
  std::vector<std::string> emails;
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  std::optional<Provenance> provenance;
  std::filesystem::path file;
};

struct Rejection {
  std::string fingerprint;
  std::string subject;
  std::string reason;  // "expired", "revoked", "wrong key usage", ...
  std::string origin;  // "" for the store, else the external source's name ("ldap")
};

struct EncryptionCertificate {
  ossl::X509Ptr certificate;
  std::string fingerprint;
  std::string origin;  // "" for the store, else the external source's name ("ldap")
  // The recorded capabilities list aes256-gcm: the recipient's client is
  // known to open AuthEnvelopedData AES-256-GCM.
  bool supports_gcm = false;
};

// Where recipients' certificates come from besides the store (see above).
struct ExternalSource {
  std::string name;  // "ldap": named in Rejection::origin and in log lines
  // The address's certificates, DER X.509 or DER PKCS#7 / CMS certs-only
  // blobs; Lookup::failure when the source cannot be asked. Called from any
  // thread.
  std::function<lookup::Lookup<std::vector<std::string>>(std::string_view address)> fetch;
};

struct SigningIdentity {
  ossl::X509Ptr certificate;
  ossl::PkeyPtr key;
  ossl::X509Stack chain;  // intermediates up to (not including) the anchor
  std::string fingerprint;
};

// One of our users' keys for decrypting (KeyStore::decryption_identities).
struct DecryptionIdentity {
  ossl::X509Ptr certificate;
  ossl::PkeyPtr key;
  std::string fingerprint;
};

template <typename T>
struct Selection {
  std::optional<T> best;
  std::vector<Rejection> rejected;  // every other candidate that is not usable, with why
  // Set (and best empty) when the external source failed: "ldap: ...".
  std::string lookup_error;
  // "no certificate for the address" or "FP: reason; FP (ldap): reason",
  // or "ldap lookup failed: ...".
  std::string why_none() const;
};

struct ImportOptions {
  std::optional<std::string> password;  // PKCS#12 and encrypted PEM keys
  bool anchor = false;                  // the file's CA certificates are trust anchors
  std::string source;                   // recorded in the sidecar; default: the file name
};

struct Imported {
  Shelf shelf = Shelf::certs;  // ignored for CRLs
  bool crl = false;
  bool already_present = false;
  bool skipped = false;  // not stored; `note` says why
  std::string note;
  std::string fingerprint;
  std::string subject;  // the issuer's name for a CRL
};

class KeyStore : public lookup::KeyFinder {
 public:
  // Opens the store at `root`; nothing is read until the first query.
  // `now` (for tests) fixes the time validity is checked against; by
  // default the clock is read at each query.
  explicit KeyStore(std::filesystem::path root = kDefaultRoot, std::optional<std::time_t> now = std::nullopt);
  ~KeyStore() override;
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  const std::filesystem::path& root() const noexcept { return root_; }

  // Creates the directories with their modes (private/ 0700); when run as
  // root, hands new directories to the owner of `root`.
  void create_layout() const;

  // Asked for encryption certificates the store lacks. Set it before the
  // store is shared between threads; an empty fetch removes it.
  void set_external_source(ExternalSource source);

  Selection<EncryptionCertificate> select_encryption_certificate(std::string_view address) const;
  // `veto(certificate, chain)` (chain: the certificate first, the anchor
  // last) returns "" to accept a usable candidate, else why it may not be
  // used. Called outside the store's lock; exceptions propagate.
  using Veto = std::function<std::string(X509* certificate, STACK_OF(X509) * chain)>;
  Selection<EncryptionCertificate> select_encryption_certificate(std::string_view address, const Veto& veto) const;
  Selection<SigningIdentity> select_signing_identity(std::string_view address) const;
  // Every private/ certificate for the address, with its key, whose key
  // usage allows decryption (keyEncipherment or keyAgreement, or no
  // keyUsage at all), newest (notBefore) first. Validity dates, chain and
  // revocation do not matter: mail encrypted to an old or expired
  // certificate must stay readable. A missing, insecure, unreadable or
  // mismatched key file leaves that certificate out. Throws KeyStoreError
  // like select_signing_identity for an insecure private/.
  std::vector<DecryptionIdentity> decryption_identities(std::string_view address) const;

  // Anchors as trusted, intermediates as untrusted helpers, CRLs with
  // CRL checking on for every certificate whose issuer has a stored CRL.
  // (X509_V_FLAG_CRL_CHECK is left to the caller: it would fail chains
  // whose CA publishes no CRL here.) The intermediates are also in the store.
  ossl::X509StorePtr verification_store() const;

  // Stores a signer's certificate after a successful verification into
  // certs/, recording `source`, the time and the signature's `capabilities`.
  // Returns false when it was already stored: the first record is kept,
  // except that non-empty `capabilities` different from the recorded ones
  // replace them (a certs/ entry only; clients change). Refuses
  // (ImportError) a CA certificate or one without an e-mail address.
  bool harvest(X509* certificate, std::string_view source, const std::vector<std::string>& capabilities = {});

  // Imports a PEM, DER or PKCS#12 file's bytes (see docs/keys.md for where
  // each piece goes). Throws ImportError with a clear reason ("wrong
  // password for the PKCS#12 file", "the private key fits none of the
  // certificates in the file", ...) before writing anything, and
  // KeyStoreError when the store cannot be written.
  std::vector<Imported> import_bytes(std::string_view bytes, const ImportOptions& options);

  std::vector<Entry> list() const;
  // Files the last scan skipped (unreadable, malformed, an anchor that is
  // not self-signed) and an insecure private/, one line each.
  std::vector<std::string> problems() const;
  // Removes the entries whose fingerprint starts with `fingerprint_or_address`
  // (at least 8 hex digits) or which carry the address. Returns them.
  std::vector<Entry> remove(std::string_view fingerprint_or_address);

  // The best usable certificate's PEM for export: encryption first, else
  // signing. Never key material.
  std::optional<std::string> export_certificate(std::string_view address) const;

  // lookup::KeyFinder
  lookup::Lookup<bool> has_usable_key(std::string_view address, lookup::KeyKind kind) const override;

  struct Snapshot;

 private:
  std::shared_ptr<const Snapshot> snapshot() const;
  std::time_t now() const;
  bool pgp_answer(const std::filesystem::path& home, std::string_view address, gpg::Use use) const;

  std::filesystem::path root_;
  std::optional<std::time_t> fixed_now_;
  std::optional<ExternalSource> external_;
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const Snapshot> cached_;
  mutable std::map<std::string, bool> pgp_cache_;  // "e:addr" / "s:addr"
  mutable std::string pgp_stamp_;
  mutable std::time_t pgp_since_ = 0;
};

}  // namespace postern::keystore
