// NAME
//   smime_test_pki - a throw-away S/MIME PKI for tests, made with the
//   openssl command line in a private temporary directory
// SUMMARY
//   TestPki pki;                                  // CA, intermediate, users
//   smime::Credential alice = pki.credential("alice");
//   X509_STORE* store = pki.store();              // trusts the root only
// DESCRIPTION
//   Root CA and intermediate CA (RSA-3072), and users issued by the
//   intermediate, every one valid from yesterday for a year:
//     alice   RSA-3072  alice@example.org  digitalSignature, keyEncipherment, emailProtection
//     bob     P-256     bob@example.org    digitalSignature, keyAgreement, emailProtection
//     carol   RSA-2048  carol@example.org  as alice (smaller: made faster)
//     mallory RSA-2048  mallory@example.org  extendedKeyUsage serverAuth only
//   Files in dir(): NAME.key (PKCS#8 PEM), NAME.crt, NAME.p12 (password
//   "test", chain included), chain.pem (intermediate), root.pem,
//   NAME-full.pem (certificate, intermediate, root). The directory is
//   removed by the destructor.
// THREADS
//   One test at a time.
// DIAGNOSTICS
//   std::runtime_error when openssl fails or is missing.
#pragma once

#include <string>

#include "postern/ossl/handles.hpp"
#include "postern/smime/smime.hpp"

namespace postern::smime::testing {

class TestPki {
 public:
  TestPki();
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::string& dir() const noexcept { return dir_; }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }
  Credential credential(const std::string& user) const;
  ossl::X509Ptr certificate(const std::string& file) const;
  X509_STORE* store() const noexcept { return store_.get(); }

 private:
  std::string dir_;
  ossl::X509StorePtr store_;
};

// The whole file; throws std::runtime_error when it cannot be read.
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);
// Runs `command` with /bin/sh; its exit status.
int run(const std::string& command);

}  // namespace postern::smime::testing
