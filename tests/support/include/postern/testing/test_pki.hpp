// NAME
//   test_pki - a throw-away PKI for C++ tests: a root, an intermediate,
//   end-entity certificates, CRLs, and their PEM / DER / PKCS#12 files
// SUMMARY
//   postern::testing::TestPki pki;                       // root + intermediate, P-256
//   auto alice = pki.issue({.emails = {"alice@example.org"}});
//   auto old = pki.issue({.emails = {"a@x"}, .not_before_days = -400, .not_after_days = -30});
//   std::string crl = pki.crl({&alice});                 // by the intermediate, PEM
//   write_file(dir / "a.p12", alice.pkcs12("secret", pki.chain()));
//   std::string der = certs_only_der({&alice, &pki.intermediate()});
// DESCRIPTION
//   Built on the OpenSSL API, in memory, fast (P-256 unless RSA is asked
//   for). End-entity certificates are issued by the intermediate (or the
//   root, or a foreign CA made with TestPki(other name)), with the given
//   subjectAltName e-mail addresses, optional subject emailAddress, key
//   type, keyUsage and extendedKeyUsage (OpenSSL config syntax; "" leaves
//   the extension out) and a validity window in days from now. Serial
//   numbers are unique per TestPki.
// THREADS
//   One TestPki per test; not shared.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "postern/ossl/handles.hpp"

namespace postern::testing {

enum class KeyType { rsa2048, rsa3072, p256 };

struct CertSpec {
  std::string common_name = "Test User";
  std::vector<std::string> emails;  // subjectAltName rfc822Name
  std::string subject_email;        // subject emailAddress; "" for none
  KeyType key = KeyType::p256;
  std::string key_usage = "default";              // "default": by key type (see .cpp); "" none
  std::string ext_key_usage = "emailProtection";  // "" for none
  int not_before_days = -1;
  int not_after_days = 365;
};

struct Issued {
  ossl::X509Ptr cert;
  ossl::PkeyPtr key;

  std::string pem() const;
  std::string der() const;
  std::string key_pem() const;                             // PKCS#8, unencrypted
  std::string key_pem(const std::string& password) const;  // encrypted PKCS#8
  // PKCS#12 with the key, the certificate and `chain`.
  std::string pkcs12(const std::string& password, const std::vector<const Issued*>& chain = {}) const;
  std::string fingerprint() const;  // SHA-256, lowercase hex
};

class TestPki {
 public:
  explicit TestPki(const std::string& name = "Postern Test", KeyType ca_key = KeyType::p256);

  const Issued& root() const { return root_; }
  const Issued& intermediate() const { return intermediate_; }
  std::vector<const Issued*> chain() const { return {&intermediate_, &root_}; }

  Issued issue(const CertSpec& spec);  // by the intermediate
  Issued issue_by_root(const CertSpec& spec);
  // A CRL listing `revoked`, signed by the intermediate (or the root), PEM.
  std::string crl(const std::vector<const Issued*>& revoked, bool by_root = false);
  std::string crl_der(const std::vector<const Issued*>& revoked, bool by_root = false);

 private:
  Issued make(const CertSpec& spec, const Issued* issuer, bool ca);
  ossl::X509CrlPtr make_crl(const std::vector<const Issued*>& revoked, bool by_root);
  std::string name_;
  long serial_ = 1;
  Issued root_;
  Issued intermediate_;
};

ossl::PkeyPtr make_key(KeyType type);
// A DER certs-only CMS SignedData holding `certs`: what mail clients publish
// as an LDAP userSMIMECertificate.
std::string certs_only_der(const std::vector<const Issued*>& certs);
// Writes bytes to a file (parents created) with `mode`; returns the path.
std::filesystem::path write_file(const std::filesystem::path& path, const std::string& bytes, unsigned mode = 0644);

}  // namespace postern::testing

namespace postern::testing {

// Adds an X.509v3 extension in OpenSSL config syntax to an issued
// certificate and signs it again with `issuer`'s key, e.g.
//   add_extension(alice, pki.intermediate(), NID_info_access, "OCSP;URI:http://127.0.0.1:8080/");
//   add_extension(alice, pki.intermediate(), NID_crl_distribution_points, "URI:http://127.0.0.1:8081/ca.crl");
void add_extension(Issued& cert, const Issued& issuer, int nid, const std::string& value);

}  // namespace postern::testing
