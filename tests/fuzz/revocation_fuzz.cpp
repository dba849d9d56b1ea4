// NAME
//   revocation_fuzz - the revocation pieces on arbitrary bytes: an HTTP
//   response, an OCSP response, a CRL (PEM or DER), a URL
// DESCRIPTION
//   The first byte picks the target (0 HTTP response, 1 OCSP response,
//   2 CRL, 3 URL); the rest is its input. A certificate and its CA (public
//   parts only, made for this fuzzer and published with it) are the
//   certificate asked about, so the seeds in corpus/revocation reach the
//   signature, CertID and time checks. Besides not crashing: an OCSP
//   answer other than unknown comes only with a thisUpdate, a revoked one
//   with a reason text; a rejected CRL never answers; an accepted URL has
//   a host, a numeric port and a path starting with '/'.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/ossl/certificate.hpp"
#include "postern/ossl/pem_der.hpp"
#include "postern/revocation/checks.hpp"
#include "postern/revocation/http.hpp"

namespace {

using namespace postern;

constexpr std::string_view kCa =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBsTCCAVegAwIBAgIUGont0uvulav0b8H0PDWBnXOVfm0wCgYIKoZIzj0EAwIw\n"
    "JTEjMCEGA1UEAwwaUG9zdGVybiByZXZvY2F0aW9uIGZ1enogQ0EwIBcNMjYxMTI1\n"
    "MDAyNjQ0WhgPMjEyNjExMDEwMDI2NDRaMCUxIzAhBgNVBAMMGlBvc3Rlcm4gcmV2\n"
    "b2NhdGlvbiBmdXp6IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEcK0S1oU9\n"
    "qEXwUbJO/7yjYgjDunzO1VfmaDcVvhRZG80xiRJDCly2K19+oqznM1C07pK+g03d\n"
    "iziu5FaZMdU16aNjMGEwHQYDVR0OBBYEFCDpikM67fvbB5HB4+Ycm1A/jj06MB8G\n"
    "A1UdIwQYMBaAFCDpikM67fvbB5HB4+Ycm1A/jj06MA8GA1UdEwEB/wQFMAMBAf8w\n"
    "DgYDVR0PAQH/BAQDAgEGMAoGCCqGSM49BAMCA0gAMEUCIQCI/CCj/d0SHi1w8uup\n"
    "zptAWVJvv8gHYJS3N18e4oCf0gIgJquxB5o+xL2sD5jsLeMH5f0q0xXHYnJZw0KA\n"
    "7DL0fz8=\n"
    "-----END CERTIFICATE-----\n";
constexpr std::string_view kLeaf =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBNTCB3AIBBTAKBggqhkjOPQQDAjAlMSMwIQYDVQQDDBpQb3N0ZXJuIHJldm9j\n"
    "YXRpb24gZnV6eiBDQTAgFw0yNjExMjUwMDI2NDVaGA8yMTI2MTEwMTAwMjY0NVow\n"
    "JzElMCMGA1UEAwwcUG9zdGVybiByZXZvY2F0aW9uIGZ1enogbGVhZjBZMBMGByqG\n"
    "SM49AgEGCCqGSM49AwEHA0IABGl6SjBnG9D7unHyo8hN2QOSbxsQ+Ua+t1+qjaZ/\n"
    "beHw5KbczZxfy4+kqC4aIfTYNan/cY2AwKlTpwXNZ6xQF5MwCgYIKoZIzj0EAwID\n"
    "SAAwRQIhAL7gZZTIYP954AQUdb3JqZYEj2tFD03aOZBbvxdgLbePAiAuo3hjzyXN\n"
    "gvrAWwA7E0s0plYXviVGoa60FBtemHzoQw==\n"
    "-----END CERTIFICATE-----\n";

struct Fixture {
  ossl::X509Ptr ca = std::move(ossl::read_certificates(kCa).front());
  ossl::X509Ptr leaf = std::move(ossl::read_certificates(kLeaf).front());
  revocation::OcspQuery query;  // no request: no nonce check
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Fixture& f = fixture();
  revocation::Window window;
  window.now = 1800000000;  // 2027-01-15: fixed, so a replay is repeatable
  switch (data[0] % 4) {
    case 0:
      try {
        revocation::HttpResponse r = revocation::parse_http_response(input, 4096);
        check(r.status == 200 && r.body.size() <= 4096);
      } catch (const revocation::FetchError&) {
      }
      break;
    case 1: {
      revocation::Finding r = revocation::evaluate_ocsp_response(input, f.query, f.leaf.get(), f.ca.get(), window);
      if (r.status != revocation::Status::unknown) check(r.this_update != 0 && r.why.empty());
      if (r.status == revocation::Status::revoked) check(!r.reason.empty());
      if (r.status == revocation::Status::unknown) check(!r.why.empty());
      break;
    }
    case 2: {
      std::vector<ossl::X509CrlPtr> crls;
      try {
        crls = ossl::read_crls(input);
      } catch (const ossl::Error&) {
      }
      for (auto& crl : crls) {
        if (!revocation::crl_problem(crl.get(), f.leaf.get(), f.ca.get(), window).empty()) continue;
        revocation::Finding r = revocation::crl_lookup(crl.get(), f.leaf.get());
        check(r.status != revocation::Status::unknown);
      }
      break;
    }
    default: {
      auto url = revocation::parse_http_url(input);
      if (url) check(!url->host.empty() && !url->port.empty() && !url->path.empty() && url->path.front() == '/');
      break;
    }
  }
  return 0;
}
