#include <openssl/err.h>

#include "files.hpp"
#include "postern/ossl/certificate.hpp"
#include "postern/ossl/error.hpp"
#include "postern/ossl/pem_der.hpp"
#include "snapshot.hpp"

namespace postern::keystore {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDirs[] = {"certs", "private", "anchors", "intermediates", "crls"};

Entry describe(Shelf shelf, X509* cert, const fs::path& file) {
  Entry e;
  e.shelf = shelf;
  e.fingerprint = ossl::sha256_fingerprint(cert);
  e.subject = ossl::subject_text(cert);
  e.issuer = ossl::issuer_text(cert);
  e.emails = ossl::certificate_emails(cert);
  e.not_before = ossl::not_before(cert);
  e.not_after = ossl::not_after(cert);
  e.file = file;
  return e;
}

void load_shelf(const fs::path& root, Shelf shelf, KeyStore::Snapshot& snap) {
  const fs::path dir = root / to_string(shelf);
  for (const auto& file : files::pem_files(dir)) {
    try {
      auto certs = ossl::read_certificates(files::read_file(file));
      StoredCertificate stored;
      stored.entry = describe(shelf, certs.front().get(), file);
      stored.certificate = std::move(certs.front());
      for (std::size_t i = 1; i < certs.size(); ++i) stored.extra.push_back(std::move(certs[i]));
      fs::path meta = file;
      meta.replace_extension(".meta");
      std::error_code ec;
      if (fs::exists(meta, ec)) stored.entry.provenance = files::parse_provenance(files::read_file(meta));
      if (shelf == Shelf::private_keys) {
        stored.key_file = file;
        stored.key_file.replace_extension(".key");
      }
      snap.certificates.push_back(std::move(stored));
    } catch (const std::exception& e) {
      ERR_clear_error();
      snap.problems.push_back(file.string() + ": skipped: " + e.what());
    }
  }
}

}  // namespace

std::vector<std::string> directory_stamps(const fs::path& root) {
  std::vector<std::string> out;
  for (const char* d : kDirs) out.push_back(files::stamp(root / d));
  return out;
}

std::shared_ptr<const KeyStore::Snapshot> scan(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw KeyStoreError("the key store " + root.string() + " is not a directory");
  auto snap = std::make_shared<KeyStore::Snapshot>();
  snap->stamps = directory_stamps(root);
  const fs::path priv = root / "private";
  if (fs::exists(priv, ec)) snap->private_problem = files::insecure_mode(priv, true);
  for (Shelf s : {Shelf::certs, Shelf::private_keys, Shelf::anchors, Shelf::intermediates}) {
    if (s == Shelf::private_keys && !snap->private_problem.empty()) continue;
    load_shelf(root, s, *snap);
  }
  for (const auto& file : files::pem_files(root / "crls")) {
    try {
      auto crls = ossl::read_crls(files::read_file(file));
      if (crls.empty()) throw KeyStoreError("no CRL in the file");
      for (auto& c : crls) snap->crls.push_back(std::move(c));
    } catch (const std::exception& e) {
      ERR_clear_error();
      snap->problems.push_back(file.string() + ": skipped: " + e.what());
    }
  }
  snap->trust.reset(X509_STORE_new());
  if (!snap->trust) throw ossl::Error("X509_STORE_new");
  for (const auto& c : snap->certificates) {
    if (c.entry.shelf != Shelf::anchors) continue;
    if (!ossl::is_self_signed(c.certificate.get())) {
      snap->problems.push_back(c.entry.file.string() + ": not used: an anchor must be a self-signed certificate");
      continue;
    }
    if (X509_STORE_add_cert(snap->trust.get(), c.certificate.get()) != 1) ERR_clear_error();
  }
  return snap;
}

}  // namespace postern::keystore
