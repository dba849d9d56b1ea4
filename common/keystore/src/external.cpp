#include "external.hpp"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>

#include "postern/ossl/certificate.hpp"
#include "postern/ossl/pem_der.hpp"

namespace postern::keystore {
namespace {

// One whole DER certificate, else nothing (a PKCS#7 blob is not one).
ossl::X509Ptr whole_der_certificate(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  ossl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(bytes.size())));
  if (cert && p != reinterpret_cast<const unsigned char*>(bytes.data()) + bytes.size()) cert.reset();
  return cert;
}

// The certificates of a DER PKCS#7 / CMS SignedData blob.
std::vector<ossl::X509Ptr> signed_data_certificates(std::string_view bytes) {
  std::vector<ossl::X509Ptr> out;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  ossl::CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(bytes.size())));
  if (!cms) return out;
  ossl::X509Stack certs(CMS_get1_certs(cms.get()));
  while (certs && sk_X509_num(certs.get()) > 0) out.emplace_back(sk_X509_shift(certs.get()));
  return out;
}

std::vector<ossl::X509Ptr> read_value(std::string_view bytes) {
  if (bytes.empty()) return {};
  if (ossl::looks_like_pem(bytes)) {
    try {
      return ossl::read_certificates(bytes);
    } catch (const std::exception&) {
      return {};
    }
  }
  std::vector<ossl::X509Ptr> out;
  if (auto cert = whole_der_certificate(bytes)) {
    out.push_back(std::move(cert));
    return out;
  }
  return signed_data_certificates(bytes);
}

}  // namespace

std::vector<StoredCertificate> external_certificates(const std::vector<std::string>& values, std::string_view address,
                                                     std::vector<Rejection>& rejected) {
  std::vector<StoredCertificate> out;
  for (const auto& value : values) {
    std::vector<ossl::X509Ptr> certs = read_value(value);
    ERR_clear_error();
    if (certs.empty()) {
      rejected.push_back({"", "", "unreadable certificate data", ""});
      continue;
    }
    bool any = false;
    for (std::size_t i = 0; i < certs.size(); ++i) {
      X509* cert = certs[i].get();
      if (ossl::is_ca(cert) || !ossl::has_email(cert, address)) continue;
      any = true;
      StoredCertificate c;
      c.entry.shelf = Shelf::certs;
      c.entry.fingerprint = ossl::sha256_fingerprint(cert);
      c.entry.subject = ossl::subject_text(cert);
      c.entry.issuer = ossl::issuer_text(cert);
      c.entry.emails = ossl::certificate_emails(cert);
      c.entry.not_before = ossl::not_before(cert);
      c.entry.not_after = ossl::not_after(cert);
      c.certificate = ossl::share(cert);
      for (std::size_t j = 0; j < certs.size(); ++j) {
        if (j != i) c.extra.push_back(ossl::share(certs[j].get()));
      }
      out.push_back(std::move(c));
    }
    if (!any) {
      X509* first = certs.front().get();
      rejected.push_back({ossl::sha256_fingerprint(first), ossl::subject_text(first), "not issued to the address", ""});
    }
  }
  ERR_clear_error();
  return out;
}

}  // namespace postern::keystore
