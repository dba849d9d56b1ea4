// NAME
//   check_connection - posternctl incamail check-connection
// SUMMARY
//   posternctl incamail check-connection mx.incamail.ch --sha1 AB:CD:...
// DESCRIPTION
//   Checks that this gateway can reach the IncaMail platform the way the
//   Postfix "incamail" transport will: SMTP, STARTTLS, and the server's
//   certificate judged as Swiss Post's gateway checklist asks:
//     organisation  the leaf's subject has O=<organisation> ("Post CH AG")
//     chain         it verifies against the configured CA file, and only it
//     name          it is valid for the host (or --match NAME), as Postfix's
//                   "secure" level requires
//     sha1/sha256   it has the pinned fingerprint, when one is given
//     client cert   with --cert/--key: the server asked for it and accepted
//                   it (answered EHLO over TLS)
//   It prints the chain and one OK, FAIL, SKIP or NOTE line per check, then
//   "RESULT: OK" (exit 0) or "RESULT: FAIL" (exit 1). A local problem (CA
//   file, client certificate or key unreadable) exits 2, a usage error 64.
// THREADS
//   One call at a time per stream.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "postern/ctl/dispatcher.hpp"
#include "postern/ctl/smtp_tls_probe.hpp"

namespace postern::ctl {

inline constexpr const char* kDefaultCaFile = "/etc/postfix/incamail/ca.pem";
inline constexpr const char* kDefaultOrganization = "Post CH AG";

struct CheckOptions {
  ProbeOptions probe;
  std::string organization = kDefaultOrganization;
  std::string sha1;    // lowercase hex without colons; "" = not pinned
  std::string sha256;
};

// Throws UsageError for anything the command line gets wrong.
CheckOptions parse_check_options(const std::vector<std::string>& args);
// "AB:cd:..." or "abcd..." of `bytes` bytes to lowercase hex; UsageError otherwise.
std::string normalize_fingerprint(std::string_view text, std::size_t bytes, std::string_view option);

// Runs the probe and prints its report; returns the exit code.
int check_connection(const CheckOptions& options, std::ostream& out, std::ostream& err);
// Judges a finished probe: prints the report, returns 0 (all OK) or 1.
int report(const CheckOptions& options, const ProbeResult& result, std::ostream& out);

void add_incamail_commands(Dispatcher& dispatcher);

}  // namespace postern::ctl
