// NAME
//   auth_headers - the Received-SPF and Authentication-Results we write
// SUMMARY
//   actions.insert_header(0, "Received-SPF", received_spf(facts));
//   actions.insert_header(0, "Authentication-Results", authentication_results(facts));
// DESCRIPTION
//   Received-SPF follows RFC 7208 §9.1: the result, a comment in words, and
//   receiver=, client-ip=, envelope-from=, helo=, identity= (and problem=
//   for errors). Authentication-Results follows RFC 8601: our authserv-id,
//   then spf for smtp.mailfrom and smtp.helo, senderid for the PRA header
//   (RFC 4406: header.from, header.sender …), and the session's TLS as
//   x-tls with policy.tls-version/cipher/cipher-bits properties. Every
//   value is written as a token or a quoted string, comments are stripped
//   of parentheses and backslashes, so nothing a sender controls can break
//   the header's syntax.
//   is_ours() tells whether an incoming Authentication-Results carries our
//   authserv-id (RFC 8601 §5: such headers are forgeries and are removed).
// THREADS
//   Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "postern/core/net.hpp"
#include "postern/spf/checker.hpp"
#include "postern/spf_milter/tls_policy.hpp"

namespace postern::spf_milter {

struct AuthFacts {
  std::string authserv_id;
  core::IpAddress client;
  std::string helo;
  std::string envelope_from;  // local@domain, "" for the null path
  std::optional<spf::Outcome> mailfrom;  // null path: the helo identity stands in (identity=helo)
  std::optional<spf::Outcome> helo_check;
  std::optional<spf::Outcome> senderid;
  std::string pra_header;   // "From", "Sender" …; "" when no PRA
  std::string pra_address;  // local@domain
  TlsFacts tls;
  std::optional<bool> tls_meets_policy;  // nullopt: no TLS
};

// Header values, each starting with a space (the milter adds them as is).
std::string received_spf(const AuthFacts& facts);
std::string authentication_results(const AuthFacts& facts);

// Does this Authentication-Results value start with our authserv-id?
bool is_ours(std::string_view value, std::string_view authserv_id);

// A value as RFC 8601/RFC 7208 allow it: a dot-atom or a quoted string.
std::string quote_value(std::string_view value);

}  // namespace postern::spf_milter
