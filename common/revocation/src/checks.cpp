#include "postern/revocation/checks.hpp"

#include <openssl/err.h>

#include <cstdio>

#include "postern/ossl/certificate.hpp"
#include "postern/ossl/error.hpp"

namespace postern::revocation {
namespace {

using CertIdPtr = core::CUnique<OCSP_CERTID, &OCSP_CERTID_free>;
using AiaPtr = core::CUnique<AUTHORITY_INFO_ACCESS, &AUTHORITY_INFO_ACCESS_free>;
using IdpPtr = core::CUnique<ISSUING_DIST_POINT, &ISSUING_DIST_POINT_free>;
using EnumPtr = core::CUnique<ASN1_ENUMERATED, &ASN1_ENUMERATED_free>;

void free_dist_points(STACK_OF(DIST_POINT) * s) noexcept { sk_DIST_POINT_pop_free(s, DIST_POINT_free); }
using DistPointsPtr = core::CUnique<STACK_OF(DIST_POINT), &free_dist_points>;

std::string hex(const unsigned char* p, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 0x0f]);
  }
  return out;
}

std::string cert_id_key(OCSP_CERTID* id) {
  unsigned char* der = nullptr;
  const int n = i2d_OCSP_CERTID(id, &der);
  if (n <= 0) throw ossl::Error("i2d_OCSP_CERTID");
  std::string out = hex(der, static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

CertIdPtr make_cert_id(X509* cert, X509* issuer) {
  CertIdPtr id(OCSP_cert_to_id(nullptr, cert, issuer));
  if (!id) throw ossl::Error("OCSP_cert_to_id");
  return id;
}

Finding unknown(std::string why) {
  ERR_clear_error();
  Finding f;
  f.why = std::move(why);
  return f;
}

std::string uri_of(const GENERAL_NAME* name) {
  if (name == nullptr || name->type != GEN_URI) return {};
  const ASN1_IA5STRING* s = name->d.uniformResourceIdentifier;
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

bool within(std::time_t t, std::time_t lo, std::time_t hi) { return t >= lo && t <= hi; }

long long secs(std::chrono::seconds s) { return static_cast<long long>(s.count()); }

// thisUpdate / nextUpdate judged against the window; "" when current.
std::string freshness(const char* what, std::time_t this_update, std::time_t next_update, const Window& w) {
  if (this_update == 0) return std::string(what) + " has no valid thisUpdate";
  if (this_update > w.now + secs(w.skew)) {
    return std::string(what) + " not yet valid (thisUpdate " + ossl::utc_text(this_update) + ")";
  }
  if (next_update != 0) {
    if (next_update < this_update) return std::string(what) + " has nextUpdate before thisUpdate";
    if (next_update < w.now - secs(w.skew)) {
      return std::string(what) + " is stale (nextUpdate " + ossl::utc_text(next_update) + ")";
    }
  } else if (this_update + secs(w.max_age) < w.now) {
    return std::string(what) + " is stale (thisUpdate " + ossl::utc_text(this_update) + ", no nextUpdate)";
  }
  return {};
}

}  // namespace

std::time_t to_time(const ASN1_TIME* t) {
  if (t == nullptr) return 0;
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return 0;
  }
  return ::timegm(&tm);
}

std::string reason_text(int code) {
  if (code < 0) return "unspecified";
  return OCSP_crl_reason_str(code);
}

std::vector<std::string> ocsp_urls(X509* cert) {
  std::vector<std::string> out;
  AiaPtr aia(static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(cert, NID_info_access, nullptr, nullptr)));
  if (!aia) {
    ERR_clear_error();
    return out;
  }
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia.get()); ++i) {
    const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia.get(), i);
    if (OBJ_obj2nid(ad->method) != NID_ad_OCSP) continue;
    std::string uri = uri_of(ad->location);
    if (!uri.empty()) out.push_back(std::move(uri));
  }
  return out;
}

std::vector<std::string> crl_urls(X509* cert) {
  std::vector<std::string> out;
  DistPointsPtr points(
      static_cast<STACK_OF(DIST_POINT)*>(X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr)));
  if (!points) {
    ERR_clear_error();
    return out;
  }
  for (int i = 0; i < sk_DIST_POINT_num(points.get()); ++i) {
    const DIST_POINT* dp = sk_DIST_POINT_value(points.get(), i);
    if (dp->distpoint == nullptr || dp->distpoint->type != 0) continue;  // 0: fullName
    const GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      std::string uri = uri_of(sk_GENERAL_NAME_value(names, j));
      if (!uri.empty()) out.push_back(std::move(uri));
    }
  }
  return out;
}

std::string ocsp_cert_id(X509* cert, X509* issuer) { return cert_id_key(make_cert_id(cert, issuer).get()); }

OcspQuery make_ocsp_query(X509* cert, X509* issuer, bool nonce) {
  OcspQuery q;
  q.request.reset(OCSP_REQUEST_new());
  if (!q.request) throw ossl::Error("OCSP_REQUEST_new");
  CertIdPtr id = make_cert_id(cert, issuer);
  q.cert_id = cert_id_key(id.get());
  if (OCSP_request_add0_id(q.request.get(), id.get()) == nullptr) throw ossl::Error("OCSP_request_add0_id");
  id.release();  // owned by the request now
  if (nonce && OCSP_request_add1_nonce(q.request.get(), nullptr, -1) != 1) throw ossl::Error("OCSP_request_add1_nonce");
  unsigned char* der = nullptr;
  const int n = i2d_OCSP_REQUEST(q.request.get(), &der);
  if (n <= 0) throw ossl::Error("i2d_OCSP_REQUEST");
  q.der.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return q;
}

Finding evaluate_ocsp_response(std::string_view der, const OcspQuery& query, X509* cert, X509* issuer,
                               const Window& window) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!response) return unknown("malformed OCSP response");
  const int rstatus = OCSP_response_status(response.get());
  if (rstatus != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return unknown(std::string("OCSP responder answered ") + OCSP_response_status_str(rstatus));
  }
  ossl::OcspBasicPtr basic(OCSP_response_get1_basic(response.get()));
  if (!basic) return unknown("OCSP response is not a basic response");

  if (query.request) {
    const int n = OCSP_check_nonce(query.request.get(), basic.get());
    if (n == 0) return unknown("OCSP response nonce does not match the request");
    if (n == -1 && window.require_nonce) return unknown("OCSP response does not echo the nonce");
  }

  // Who signed it: the issuer itself, or a delegated responder the issuer certified.
  ossl::X509Stack extra = ossl::make_x509_stack();
  {
    ossl::X509Ptr shared = ossl::share(issuer);
    if (sk_X509_push(extra.get(), shared.get()) <= 0) throw ossl::Error("sk_X509_push");
    shared.release();
  }
  X509* signer = nullptr;
  if (OCSP_resp_get0_signer(basic.get(), &signer, extra.get()) != 1 || signer == nullptr) {
    return unknown("OCSP response signer certificate not found");
  }
  if (X509_cmp(signer, issuer) != 0) {
    if (X509_check_issued(issuer, signer) != X509_V_OK) {
      return unknown("OCSP response signed by a certificate not issued by the certificate's issuer");
    }
    EVP_PKEY* issuer_key = X509_get0_pubkey(issuer);
    if (issuer_key == nullptr || X509_verify(signer, issuer_key) != 1) {
      return unknown("OCSP responder certificate is not signed by the certificate's issuer");
    }
    if ((X509_get_extension_flags(signer) & EXFLAG_XKUSAGE) == 0 ||
        (X509_get_extended_key_usage(signer) & XKU_OCSP_SIGN) == 0) {
      return unknown("OCSP responder certificate lacks the OCSPSigning extended key usage");
    }
    const std::time_t nb = to_time(X509_get0_notBefore(signer));
    const std::time_t na = to_time(X509_get0_notAfter(signer));
    if (!within(window.now, nb - secs(window.skew), na + secs(window.skew))) {
      return unknown("OCSP responder certificate is outside its validity");
    }
  }
  ossl::X509Stack signer_only = ossl::make_x509_stack();
  {
    ossl::X509Ptr shared = ossl::share(signer);
    if (sk_X509_push(signer_only.get(), shared.get()) <= 0) throw ossl::Error("sk_X509_push");
    shared.release();
  }
  ossl::X509StorePtr empty(X509_STORE_new());
  if (!empty) throw ossl::Error("X509_STORE_new");
  // NOINTERN + TRUSTOTHER: the signer is the certificate vetted above; only the signature is checked here.
  if (OCSP_basic_verify(basic.get(), signer_only.get(), empty.get(), OCSP_NOINTERN | OCSP_TRUSTOTHER) != 1) {
    return unknown("OCSP response signature does not verify");
  }

  CertIdPtr id = make_cert_id(cert, issuer);
  const int idx = OCSP_resp_find(basic.get(), id.get(), -1);
  if (idx < 0) return unknown("OCSP response does not cover the certificate");
  OCSP_SINGLERESP* single = OCSP_resp_get0(basic.get(), idx);
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  const int status = OCSP_single_get0_status(single, &reason, &revoked_at, &this_update, &next_update);
  Finding f;
  f.this_update = to_time(this_update);
  f.next_update = next_update != nullptr ? to_time(next_update) : 0;
  if (next_update != nullptr && f.next_update == 0) return unknown("OCSP response has an unreadable nextUpdate");
  if (std::string stale = freshness("OCSP response", f.this_update, f.next_update, window); !stale.empty()) {
    return unknown(stale);
  }
  switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
      f.status = Status::good;
      return f;
    case V_OCSP_CERTSTATUS_REVOKED:
      f.status = Status::revoked;
      f.reason_code = reason;
      f.reason = reason_text(reason);
      f.revoked_at = to_time(revoked_at);
      return f;
    default:
      return unknown("OCSP responder does not know the certificate");
  }
}

std::string crl_problem(X509_CRL* crl, X509* cert, X509* issuer, const Window& window) {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
    return "CRL is issued by another CA";
  }
  if ((X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0) return "the issuer's keyUsage does not allow cRLSign";
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (key == nullptr || X509_CRL_verify(crl, key) != 1) {
    ERR_clear_error();
    return "CRL signature does not verify with the issuer's key";
  }
  const std::time_t last = to_time(X509_CRL_get0_lastUpdate(crl));
  const ASN1_TIME* next_t = X509_CRL_get0_nextUpdate(crl);
  const std::time_t next = next_t != nullptr ? to_time(next_t) : 0;
  if (next_t != nullptr && next == 0) return "CRL has an unreadable nextUpdate";
  if (std::string stale = freshness("CRL", last, next, window); !stale.empty()) return stale;

  int crit = -1;
  for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i) {
    X509_EXTENSION* ext = X509_CRL_get_ext(crl, i);
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (nid == NID_delta_crl) return "delta CRLs are not supported";
    if (X509_EXTENSION_get_critical(ext) && nid != NID_issuing_distribution_point) crit = nid;
  }
  if (crit != -1) return "CRL has an unsupported critical extension";
  int idp_crit = 0;
  IdpPtr idp(
      static_cast<ISSUING_DIST_POINT*>(X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &idp_crit, nullptr)));
  if (!idp && idp_crit != -1) {
    ERR_clear_error();
    return "CRL has a malformed issuingDistributionPoint";
  }
  if (idp) {
    if (idp->indirectCRL > 0) return "indirect CRLs are not supported";
    if (idp->onlysomereasons != nullptr) return "CRLs partitioned by reason are not supported";
    if (idp->onlyattr > 0) return "CRL covers attribute certificates only";
    const bool ca = ossl::is_ca(cert);
    if (idp->onlyuser > 0 && ca) return "CRL covers end-entity certificates only";
    if (idp->onlyCA > 0 && !ca) return "CRL covers CA certificates only";
  }
  return {};
}

Finding crl_lookup(X509_CRL* crl, X509* cert) {
  Finding f;
  f.this_update = to_time(X509_CRL_get0_lastUpdate(crl));
  f.next_update = X509_CRL_get0_nextUpdate(crl) != nullptr ? to_time(X509_CRL_get0_nextUpdate(crl)) : 0;
  X509_REVOKED* entry = nullptr;
  const int found = X509_CRL_get0_by_serial(crl, &entry, X509_get0_serialNumber(cert));
  if (found != 1 || entry == nullptr) {  // 0: absent; 2: removeFromCRL
    f.status = Status::good;
    return f;
  }
  f.status = Status::revoked;
  f.revoked_at = to_time(X509_REVOKED_get0_revocationDate(entry));
  int crit = 0;
  EnumPtr reason(static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, &crit, nullptr)));
  if (reason) {
    const long code = ASN1_ENUMERATED_get(reason.get());
    f.reason_code = code >= 0 && code <= 10 ? static_cast<int>(code) : -1;
  }
  ERR_clear_error();
  f.reason = reason_text(f.reason_code);
  return f;
}

}  // namespace postern::revocation
