// NAME
//   checker - RFC 7208 check_host() on libspf2, with its gaps closed
// SUMMARY
//   Checker checker(std::make_shared<CachingResolver>(stub), Limits{});
//   Outcome o = checker.check({Identity::mailfrom, client, "mx.example.org",
//                              "alice@example.org"});
//   if (o.result == Result::fail) ...
// DESCRIPTION
//   One long-lived libspf2 server (SPF_server_new_dns) evaluates every
//   check: it interprets mechanisms, macros, include: and redirect=. Under it
//   sits our DNS layer, which is where libspf2's known gaps are closed:
//   - records are fetched, selected (v=spf1, or spf2.0/pra for SenderID),
//     parsed strictly (record.hpp) and compiled by us, so an invalid record
//     is a permerror, never half evaluated;
//   - the 10-lookup limit is counted across include: and redirect= (libspf2
//     restarts it in every include:), and the void-lookup limit (2) is kept;
//   - every check has a wall-clock budget: once spent, lookups fail and the
//     result is temperror, well inside Postfix's 30 s command timeout;
//   - libspf2's "invalid" becomes temperror after a DNS failure, permerror
//     otherwise; loopback clients are evaluated like any other (libspf2
//     would pass them unconditionally).
//   Inputs are validated before libspf2 sees them (RFC 7208 §4.3: a
//   malformed or single-label domain gives none), and IPv4-mapped IPv6
//   clients are checked as IPv4. libspf2's error handler is replaced by one
//   that logs and aborts: with validated input it never fires.
//   The PRA identity (SenderID, RFC 4406) runs the same evaluation with the
//   PRA as sender and spf2.0/pra record selection.
// THREADS
//   check() is safe from any number of threads at once: per-check state is
//   thread-local and the libspf2 server is only read. Nothing is serialised
//   behind a lock here (the cache shards its own).
// DIAGNOSTICS
//   check() does not throw for DNS or record problems: they are results with
//   a short problem text for logs and header comments.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "postern/core/net.hpp"
#include "postern/spf/dns.hpp"

namespace postern::spf {

enum class Result { none, neutral, pass, fail, softfail, temperror, permerror };
const char* to_string(Result result) noexcept;

enum class Identity { mailfrom, helo, pra };
const char* to_string(Identity identity) noexcept;

struct Query {
  Identity identity = Identity::mailfrom;
  core::IpAddress client;
  std::string helo;    // as given in HELO/EHLO
  std::string sender;  // local@domain without brackets; "" for the null path (mailfrom) or helo
};

struct Outcome {
  Result result = Result::none;
  std::string domain;   // the domain whose policy was checked; "" if none could be
  std::string problem;  // why a none/temperror/permerror came about; "" otherwise
  int lookups = 0;      // DNS-querying terms evaluated
  int void_lookups = 0;
};

struct Limits {
  std::chrono::milliseconds budget{8000};  // wall clock per check
  int max_lookups = 10;                    // RFC 7208 §4.6.4
  int max_void_lookups = 2;
};

class Checker {
 public:
  Checker(std::shared_ptr<const Resolver> resolver, Limits limits = {});
  ~Checker();
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  Outcome check(const Query& query) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace postern::spf
