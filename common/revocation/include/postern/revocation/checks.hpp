// NAME
//   checks - the pieces of a revocation check: where to ask (AIA, CDP),
//   the OCSP request, and verifying an OCSP response or a CRL
// SUMMARY
//   for (auto& url : revocation::ocsp_urls(cert)) ...
//   revocation::OcspQuery q = revocation::make_ocsp_query(cert, issuer, /*nonce=*/true);
//   revocation::Finding f = revocation::evaluate_ocsp_response(der, q, cert, issuer, window);
//   std::string why = revocation::crl_problem(crl, cert, issuer, window);   // "" when usable
//   revocation::Finding g = revocation::crl_lookup(crl, cert);
// DESCRIPTION
//   ocsp_urls(): the id-ad-ocsp accessLocations of authorityInfoAccess;
//   crl_urls(): the fullName URIs of every cRLDistributionPoints entry.
//   Both return every URI; the caller skips what http.hpp cannot fetch.
//
//   An OCSP response is accepted when: the responseStatus is successful
//   and the body is a basic response; the nonce, when the request carried
//   one, is echoed unchanged (a missing echo is allowed unless
//   require_nonce: many responders serve pre-signed answers); it is signed
//   by the issuer itself, or by a delegated responder certificate that the
//   issuer signed, that carries the id-kp-OCSPSigning extended key usage
//   and is within its validity (RFC 6960 4.2.2.2; the responder's own
//   revocation is not checked, as id-pkix-ocsp-nocheck allows); the
//   signature verifies with that certificate's key; a SingleResponse for
//   exactly this certificate's CertID is present; and thisUpdate is not in
//   the future (beyond the skew) and nextUpdate not in the past (beyond the
//   skew) or, without nextUpdate, thisUpdate is at most max_age old.
//
//   A CRL is usable when: its issuer name is the issuer's subject; the
//   issuer's keyUsage (if any) allows cRLSign; the signature verifies with
//   the issuer's key; lastUpdate is not in the future and nextUpdate not
//   in the past (each beyond the skew), or without nextUpdate lastUpdate is
//   at most max_age old; it is not a delta CRL; an issuingDistributionPoint
//   does not make it indirect, partitioned by reasons, or limited to
//   attribute certificates, or to CA / end-entity certificates when the
//   certificate is the other kind; no other extension is critical.
// DIAGNOSTICS
//   Nothing throws for bad input: a Finding with status unknown and `why`
//   ("OCSP response signed by a certificate not authorised for this
//   issuer", "CRL expired at 2026-...", ...). make_ocsp_query throws
//   ossl::Error only when OpenSSL cannot allocate.
// THREADS
//   Reentrant. The certificates and CRLs are only read.
#pragma once

#include <chrono>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "postern/ossl/handles.hpp"
#include "postern/revocation/result.hpp"

namespace postern::revocation {

// What one source said. status unknown carries `why`.
struct Finding {
  Status status = Status::unknown;
  int reason_code = -1;
  std::string reason;
  std::time_t revoked_at = 0;
  std::time_t this_update = 0;
  std::time_t next_update = 0;  // 0: none
  std::string why;
};

// The clock and tolerances a response or CRL is judged with.
struct Window {
  std::time_t now = 0;
  std::chrono::seconds skew{300};
  std::chrono::seconds max_age{86400};  // without nextUpdate
  bool require_nonce = false;           // OCSP only
};

std::vector<std::string> ocsp_urls(X509* cert);
std::vector<std::string> crl_urls(X509* cert);

struct OcspQuery {
  ossl::OcspRequestPtr request;
  std::string der;      // the DER request to POST
  std::string cert_id;  // hex of the DER CertID (SHA-1), a cache key
};
OcspQuery make_ocsp_query(X509* cert, X509* issuer, bool nonce);

// The CertID key alone (as OcspQuery::cert_id), without building a request.
std::string ocsp_cert_id(X509* cert, X509* issuer);

// `query` may have a null request (no nonce check then).
Finding evaluate_ocsp_response(std::string_view der, const OcspQuery& query, X509* cert, X509* issuer,
                               const Window& window);

// "" when `crl` is a usable CRL of `issuer` for `cert` now; else why not.
std::string crl_problem(X509_CRL* crl, X509* cert, X509* issuer, const Window& window);
// good or revoked (with reason and date): only for a CRL crl_problem accepted.
Finding crl_lookup(X509_CRL* crl, X509* cert);

// "keyCompromise" etc. for a CRLReason code; "unspecified" for -1.
std::string reason_text(int code);
// ASN1_TIME as time_t (UTC); 0 for null or unparsable.
std::time_t to_time(const ASN1_TIME* t);

}  // namespace postern::revocation
