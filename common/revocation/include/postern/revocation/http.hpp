// NAME
//   http - a minimal HTTP/1.0 client for OCSP and CRL fetches, with hard
//   time and size limits
// SUMMARY
//   revocation::HttpLimits limits{.connect_timeout = 2s, .request_timeout = 5s, .max_response_bytes = 1 << 20};
//   revocation::HttpResponse r = revocation::http_get("http://crl.example.org/ca.crl", limits);
//   auto o = revocation::http_post(url, "application/ocsp-request", der, limits);
// DESCRIPTION
//   Only plain http:// URLs: OCSP responses and CRLs carry their own
//   signatures, so TLS adds nothing but another way to fail (and a loop:
//   the TLS certificate would need a revocation check of its own). https,
//   ldap and other schemes are refused with a clear reason.
//
//   One request per connection (HTTP/1.0, "Connection: close"); no
//   redirects, no proxies, no chunked encoding (HTTP/1.0 servers do not
//   send it). The connect phase is bounded by connect_timeout; the whole
//   exchange (connect, send, receive) by request_timeout, measured on the
//   monotonic clock. The response (headers and body) is read into at most
//   max_response_bytes plus the header allowance (16 KiB); a larger
//   Content-Length is refused before the body is read.
//
//   Name resolution uses getaddrinfo(3), which the timeouts cannot bound
//   (resolv.conf's timeout/attempts apply); distribution points with IP
//   literals or a local caching resolver avoid that.
// DIAGNOSTICS
//   FetchError with a one-line reason that names the URL's host and port,
//   never a body: "connect 127.0.0.1:8080: Connection refused",
//   "127.0.0.1:8080: timed out after 2000 ms", "HTTP status 404",
//   "response larger than 1048576 bytes".
// THREADS
//   Reentrant; each call uses its own socket.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace postern::revocation {

class FetchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HttpLimits {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{5000};
  std::size_t max_response_bytes = 10 * 1024 * 1024;
};

struct HttpUrl {
  std::string host;  // without brackets for IPv6 literals
  std::string port;  // "80" by default
  std::string path;  // starts with '/', includes any query
};

// nullopt (and `why`) unless `url` is a well-formed http:// URL.
std::optional<HttpUrl> parse_http_url(std::string_view url, std::string* why = nullptr);

struct HttpResponse {
  int status = 0;
  std::string content_type;  // lowercase, without parameters
  std::string body;
};

// A whole HTTP/1.x response as read from the socket: status 200 only, the
// body cut to Content-Length (a shorter body is refused), no chunked
// transfer encoding, the body at most max_body_bytes. Throws FetchError.
HttpResponse parse_http_response(std::string_view raw, std::size_t max_body_bytes);

// Status 200 only; anything else throws FetchError.
HttpResponse http_get(std::string_view url, const HttpLimits& limits);
HttpResponse http_post(std::string_view url, std::string_view content_type, std::string_view body,
                       const HttpLimits& limits);

}  // namespace postern::revocation
