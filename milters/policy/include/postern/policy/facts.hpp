// NAME
//   facts - what the policy conditions look at, gathered once per message
// SUMMARY
//   Envelope env{.sender = "<a@example.org>", .recipients = {"<b@example.net>"}};
//   MessageFacts facts = MessageFacts::from_message(bytes);
// DESCRIPTION
//   Envelope holds the SMTP side as Postfix reports it to a milter (MAIL
//   FROM, RCPT TO, and the macros {client_addr}, {auth_authen},
//   {daemon_name}, {tls_version}, {cipher_bits}). MessageFacts holds what the
//   conditions need from the message itself, computed once so that every
//   recipient and every rule reads the same values:
//   - size: the message bytes as given;
//   - subject: RFC 2047 decoded;
//   - priority: X-Priority (1-2 high, 3 normal, 4-5 low), else Importance
//     (high, normal, low), else normal;
//   - sensitivity: the Sensitivity header lowercased ("" when absent);
//   - encrypted / signed: from the top part's Content-Type
//     (multipart/encrypted with application/pgp-encrypted: pgp;
//     multipart/signed with a pkcs7 or pgp signature protocol: smime or pgp;
//     application/(x-)pkcs7-mime: smime, signed when smime-type is
//     signed-data, else encrypted, because clients often omit smime-type on
//     enveloped data), or inline PGP armour at the start of a line in the
//     first text/plain part;
//   - attachments: every leaf part with a file name or an "attachment"
//     disposition, and every message/rfc822 part as one attachment; the
//     signature part of a multipart/signed is not an attachment.
//   normalize_address() is the form address patterns compare against:
//   local@domain with the domain in IDNA A-labels and everything
//   lowercased; "" for the null sender. A path that does not parse is
//   lowercased as written, without angle brackets, so patterns can still
//   see it (and exact patterns, which do parse, never match it by accident).
// THREADS
//   Values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/core/net.hpp"

namespace postern::policy {

enum class Priority { low, normal, high };
enum class Protection { none, smime, pgp };

const char* to_string(Priority p) noexcept;    // "low", "normal", "high"
const char* to_string(Protection p) noexcept;  // "none", "smime", "pgp"

struct Envelope {
  std::string sender;  // MAIL FROM path; "" or "<>" is the null sender
  std::vector<std::string> recipients;
  std::optional<core::IpAddress> client_address;
  std::string auth_user;    // {auth_authen}: "" when not authenticated
  std::string listener;     // {daemon_name}
  std::string tls_version;  // {tls_version}: "" without TLS
  int tls_cipher_bits = 0;  // {cipher_bits}
};

struct MessageFacts {
  std::uint64_t size = 0;
  std::string subject;
  Priority priority = Priority::normal;
  std::string sensitivity;
  Protection encrypted = Protection::none;
  Protection signature = Protection::none;
  std::vector<std::string> attachment_names;  // "" for an attachment without a name

  // Never throws on bad MIME: a part that cannot be read adds nothing.
  static MessageFacts from_message(std::string_view message);
};

std::string normalize_address(std::string_view path);

}  // namespace postern::policy
