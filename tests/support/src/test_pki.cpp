#include "postern/testing/test_pki.hpp"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

#include "postern/ossl/certificate.hpp"
#include "postern/ossl/error.hpp"

namespace postern::testing {
namespace {

using ossl::Error;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

ossl::BioPtr mem_bio() {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) throw Error("BIO_new");
  return bio;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  if (value.empty()) return;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw Error("X509V3_EXT_conf_nid " + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) throw Error("X509_add_ext");
}

void add_name(X509_NAME* name, const char* field, const std::string& value, int type = MBSTRING_UTF8) {
  if (value.empty()) return;
  if (X509_NAME_add_entry_by_txt(name, field, type, reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0) !=
      1) {
    throw Error(std::string("X509_NAME_add_entry_by_txt ") + field);
  }
}

// `object` in DER, by OpenSSL's i2d function for its type (named `what` in errors).
template <typename T>
std::string der_of(int (*i2d)(const T*, unsigned char**), const T* object, const char* what) {
  unsigned char* der = nullptr;
  const int n = i2d(object, &der);
  if (n <= 0) throw Error(what);
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

ossl::X509Stack stack_of(const std::vector<const Issued*>& certs) {
  ossl::X509Stack s = ossl::make_x509_stack();
  for (const Issued* i : certs) {
    ossl::X509Ptr x = ossl::share(i->cert.get());
    if (sk_X509_push(s.get(), x.get()) <= 0) throw Error("sk_X509_push");
    x.release();
  }
  return s;
}

}  // namespace

ossl::PkeyPtr make_key(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::rsa2048:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
      break;
    case KeyType::rsa3072:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(3072));
      break;
    case KeyType::p256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
  }
  if (key == nullptr) throw Error("EVP_PKEY_Q_keygen");
  return ossl::PkeyPtr(key);
}

std::filesystem::path write_file(const std::filesystem::path& path, const std::string& bytes, unsigned mode) {
  std::filesystem::create_directories(path.parent_path());
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) throw std::runtime_error("cannot write " + path.string());
  }
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
  return path;
}

std::string Issued::pem() const { return ossl::to_pem(cert.get()); }
std::string Issued::der() const { return ossl::to_der(cert.get()); }
std::string Issued::key_pem() const { return ossl::private_key_to_pem(key.get()); }
std::string Issued::fingerprint() const { return ossl::sha256_fingerprint(cert.get()); }

std::string Issued::key_pem(const std::string& password) const {
  auto bio = mem_bio();
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(), password.data(),
                                    static_cast<int>(password.size()), nullptr, nullptr) != 1) {
    throw Error("PEM_write_bio_PKCS8PrivateKey");
  }
  return bio_text(bio.get());
}

std::string Issued::pkcs12(const std::string& password, const std::vector<const Issued*>& chain) const {
  ossl::X509Stack ca = stack_of(chain);
  ossl::Pkcs12Ptr p12(PKCS12_create(password.c_str(), "test", key.get(), cert.get(), ca.get(), 0, 0, 0, 0, 0));
  if (!p12) throw Error("PKCS12_create");
  return der_of(i2d_PKCS12, p12.get(), "i2d_PKCS12");
}

std::string certs_only_der(const std::vector<const Issued*>& certs) {
  ossl::X509Stack stack = stack_of(certs);
  ossl::CmsPtr cms(CMS_sign(nullptr, nullptr, stack.get(), nullptr, CMS_PARTIAL));
  if (!cms) throw Error("CMS_sign");
  return der_of(i2d_CMS_ContentInfo, cms.get(), "i2d_CMS_ContentInfo");
}

TestPki::TestPki(const std::string& name, KeyType ca_key) : name_(name) {
  CertSpec root{.common_name = name + " Root CA",
                .key = ca_key,
                .key_usage = "critical,keyCertSign,cRLSign",
                .ext_key_usage = "",
                .not_before_days = -3650,
                .not_after_days = 3650};
  root_ = make(root, nullptr, true);
  CertSpec sub = root;
  sub.common_name = name + " Intermediate CA";
  intermediate_ = make(sub, &root_, true);
}

Issued TestPki::issue(const CertSpec& spec) { return make(spec, &intermediate_, false); }
Issued TestPki::issue_by_root(const CertSpec& spec) { return make(spec, &root_, false); }

Issued TestPki::make(const CertSpec& spec, const Issued* issuer, bool ca) {
  Issued out;
  out.key = make_key(spec.key);
  out.cert.reset(X509_new());
  if (!out.cert) throw Error("X509_new");
  X509* x = out.cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial_++);
  X509_gmtime_adj(X509_getm_notBefore(x), static_cast<long>(spec.not_before_days) * 86400L);
  X509_gmtime_adj(X509_getm_notAfter(x), static_cast<long>(spec.not_after_days) * 86400L);
  X509_NAME* subject = X509_get_subject_name(x);
  add_name(subject, "C", "CH");
  add_name(subject, "O", name_);
  add_name(subject, "CN", spec.common_name);
  add_name(subject, "emailAddress", spec.subject_email, MBSTRING_ASC);
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer->cert.get()) : subject);
  if (X509_set_pubkey(x, out.key.get()) != 1) throw Error("X509_set_pubkey");
  X509* signer_cert = issuer != nullptr ? issuer->cert.get() : x;
  add_ext(x, signer_cert, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  std::string ku = spec.key_usage;
  if (ku == "default") {
    ku = spec.key == KeyType::p256 ? "critical,digitalSignature,nonRepudiation,keyAgreement"
                                   : "critical,digitalSignature,nonRepudiation,keyEncipherment";
  }
  add_ext(x, signer_cert, NID_key_usage, ku);
  if (!ca) add_ext(x, signer_cert, NID_ext_key_usage, spec.ext_key_usage);
  add_ext(x, signer_cert, NID_subject_key_identifier, "hash");
  add_ext(x, signer_cert, NID_authority_key_identifier, "keyid:always");
  std::string san;
  for (const auto& e : spec.emails) san += (san.empty() ? "email:" : ",email:") + e;
  add_ext(x, signer_cert, NID_subject_alt_name, san);
  EVP_PKEY* signer_key = issuer != nullptr ? issuer->key.get() : out.key.get();
  if (X509_sign(x, signer_key, EVP_sha256()) <= 0) throw Error("X509_sign");
  return out;
}

ossl::X509CrlPtr TestPki::make_crl(const std::vector<const Issued*>& revoked, bool by_root) {
  const Issued& issuer = by_root ? root_ : intermediate_;
  ossl::X509CrlPtr crl(X509_CRL_new());
  if (!crl) throw Error("X509_CRL_new");
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.cert.get()));
  core::CUnique<ASN1_TIME, &ASN1_TIME_free> last(X509_gmtime_adj(nullptr, -3600));
  core::CUnique<ASN1_TIME, &ASN1_TIME_free> next(X509_gmtime_adj(nullptr, 7 * 86400L));
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (const Issued* r : revoked) {
    X509_REVOKED* rev = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(r->cert.get()));
    X509_REVOKED_set_revocationDate(rev, last.get());
    if (X509_CRL_add0_revoked(crl.get(), rev) != 1) {
      X509_REVOKED_free(rev);
      throw Error("X509_CRL_add0_revoked");
    }
  }
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), issuer.key.get(), EVP_sha256()) <= 0) throw Error("X509_CRL_sign");
  return crl;
}

std::string TestPki::crl(const std::vector<const Issued*>& revoked, bool by_root) {
  return ossl::to_pem(make_crl(revoked, by_root).get());
}

std::string TestPki::crl_der(const std::vector<const Issued*>& revoked, bool by_root) {
  return der_of(i2d_X509_CRL, make_crl(revoked, by_root).get(), "i2d_X509_CRL");
}

}  // namespace postern::testing

namespace postern::testing {

void add_extension(Issued& cert, const Issued& issuer, int nid, const std::string& value) {
  add_ext(cert.cert.get(), issuer.cert.get(), nid, value);
  if (X509_sign(cert.cert.get(), issuer.key.get(), EVP_sha256()) <= 0) throw Error("X509_sign");
}

}  // namespace postern::testing
