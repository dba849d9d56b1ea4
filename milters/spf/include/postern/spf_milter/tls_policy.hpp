// NAME
//   tls_policy - SecureMail's TLS requirements on the inbound session
// SUMMARY
//   TlsFacts tls = tls_facts(actions);   // from {tls_version} {cipher} {cipher_bits}
//   if (auto reply = tls_violation(tls, requirements)) return reject(*reply);
// DESCRIPTION
//   Postfix sends the TLS macros with the EHLO after STARTTLS; without them
//   the session is cleartext. A session meets the requirements when it uses
//   TLS, at least the minimum protocol, at least the minimum cipher bits and,
//   when asked, forward secrecy: TLS 1.3 always has it; below 1.3 the key
//   exchange must be ephemeral (OpenSSL names ECDHE-… or DHE-…).
//   Each shortfall has its own 5.7.0 reply text saying what was found and
//   what is required, so a sending admin can act on it.
// THREADS
//   Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "postern/milter/filter.hpp"

namespace postern::spf_milter {

struct TlsFacts {
  std::optional<std::string> version;  // "TLSv1.3"; nullopt: no TLS
  std::string cipher;
  int bits = 0;
};

struct TlsRequirements {
  int min_version = 3;  // tls_version_rank("TLSv1.2")
  int min_bits = 256;
  bool forward_secrecy = true;
};

// SSLv3 0, TLSv1 1, TLSv1.1 2, TLSv1.2 3, TLSv1.3 4; anything else -1.
int tls_version_rank(std::string_view version) noexcept;

TlsFacts tls_facts(const milter::Actions& actions);

// nullopt when the session meets the requirements.
std::optional<milter::Reply> tls_violation(const TlsFacts& tls, const TlsRequirements& required);

}  // namespace postern::spf_milter
