// NAME
//   snapshot - one scan of the key store, shared read-only between queries
// DESCRIPTION
//   Internal to postern_keystore. Built by scan(); never changed after.
//   `trust` holds the anchors; chains are built against it with the
//   intermediates as untrusted helpers, and revocation is checked by hand against `crls`,
//   so a CA without a stored CRL is not treated as revoking everything.
// THREADS
//   Immutable once built; the X509_STORE is only read (verification).
#pragma once

#include <filesystem>
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
};

std::shared_ptr<const KeyStore::Snapshot> scan(const std::filesystem::path& root);
std::vector<std::string> directory_stamps(const std::filesystem::path& root);

}  // namespace postern::keystore
