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
//     signature part of a multipart/signed is not an attachment. Each has
//     its file name, its declared Content-Type and the type sniffed from
//     the magic bytes of its decoded body (sniff_type());
//   - authentication_results: every Authentication-Results field, parsed
//     (authserv-id and each method=result with its properties); the spf
//     and senderid conditions read only those with the policy's own
//     authserv-id (postern-spf removes forged ones carrying it).
//   sniff_type() names what the bytes are: pdf, ooxml (a ZIP holding
//   [Content_Types].xml: docx, xlsx, pptx...), zip, ole2 (old Office,
//   msg, msi), exe (MZ), elf, png, jpeg, gif, rar, 7z, gzip, bzip2, xz,
//   rtf, cab; "" when none. type_mismatch() says whether the declared
//   Content-Type or the file extension claims something else than the
//   bytes are (docs/policy.md has the table).
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

struct Attachment {
  std::string name;           // "" without a file name
  std::string declared_type;  // "type/subtype", lowercase
  std::string sniffed_type;   // sniff_type() of the decoded body; "" unknown
  bool operator==(const Attachment&) const = default;
};

// One Authentication-Results field (RFC 8601), comments dropped.
struct AuthResults {
  struct Result {
    std::string method;      // lowercase, version dropped: "spf", "senderid"
    std::string result;      // lowercase: "pass", "fail", ...
    std::string properties;  // the rest, e.g. "smtp.mailfrom=a@example.org"
  };
  std::string authserv_id;  // lowercase
  std::vector<Result> results;
};

struct MessageFacts {
  std::uint64_t size = 0;
  std::string subject;
  Priority priority = Priority::normal;
  std::string sensitivity;
  Protection encrypted = Protection::none;
  Protection signature = Protection::none;
  std::vector<std::string> attachment_names;  // "" for an attachment without a name
  std::vector<Attachment> attachments;        // the same attachments, in the same order
  std::vector<AuthResults> authentication_results;

  // Never throws on bad MIME: a part that cannot be read adds nothing.
  static MessageFacts from_message(std::string_view message);
};

std::string normalize_address(std::string_view path);

// The sniffed type names, in the order of the docs table.
const std::vector<std::string_view>& sniffed_type_names();
std::string_view sniff_type(std::string_view bytes) noexcept;
// True when the declared type or the extension of `name` claims a kind the
// sniffed bytes are not, or the bytes are a known kind the declared type
// or extension does not allow. application/octet-stream and a name
// without extension claim nothing.
bool type_mismatch(const Attachment& attachment);

AuthResults parse_authentication_results(std::string_view value);

}  // namespace postern::policy
