// NAME
//   snapshot - one scan of the key store, shared read-only between queries
// DESCRIPTION
//   Internal to postern_keystore. Built by scan(); never changed after.
//   `trust` holds the anchors; chains are built against it with the
//   intermediates as untrusted helpers, and revocation is checked by hand against `crls`,
//   so a CA without a stored CRL is not treated as revoking everything.
//   Added later, per message path costs kept for the snapshot's life (a
//   changed store is a new snapshot): private keys, parsed on first use
//   for signing (parsing one costs more than a small message's signature),
//   and the chains that verified, with the time window in which every
//   certificate of the chain is valid: within it X509_verify_cert would
//   give the same answer against this snapshot.
// THREADS
//   Immutable once built, but for `keys` and `chains` (under keys_mutex);
//   the X509_STORE is only read (verification).
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "postern/keystore/key_store.hpp"

namespace postern::keystore {

struct StoredCertificate {
  Entry entry;
  ossl::X509Ptr certificate;
  std::vector<ossl::X509Ptr> extra;  // private/FP.pem: the chain after the certificate
  std::filesystem::path key_file;    // private/FP.key; empty elsewhere
};

struct KeyStore::Snapshot {
  std::vector<std::string> stamps;  // of the directories, in kDirs order
  std::vector<StoredCertificate> certificates;
  std::vector<ossl::X509CrlPtr> crls;
  ossl::X509StorePtr trust;
  std::string private_problem;        // private/ itself is insecure; signing refuses
  std::vector<std::string> problems;  // files skipped, with why
  struct VerifiedChain {
    ossl::X509Stack chain;  // the certificate first, the anchor last
    std::time_t from = 0;   // the latest notBefore of the chain
    std::time_t until = 0;  // the earliest notAfter
  };
  mutable std::mutex keys_mutex;
  mutable std::map<std::filesystem::path, ossl::PkeyPtr> keys;  // by key_file
  mutable std::map<std::string, VerifiedChain> chains;          // by fingerprint
};

std::shared_ptr<const KeyStore::Snapshot> scan(const std::filesystem::path& root);
std::vector<std::string> directory_stamps(const std::filesystem::path& root);

}  // namespace postern::keystore
