// NAME
//   plan - what postern-policy decided for one group of recipients
// SUMMARY
//   Plan p;
//   p.recipients = {"a@example.org"};
//   p.encrypt = EncryptMethod::smime;
//   std::string payload = encode_payload(p, stamp);   // sealer.hpp signs it
// DESCRIPTION
//   A Plan is a plain value: the envelope recipients it applies to and the
//   transforms the milters after postern-policy perform for them. The payload
//   form is one "key=value" line per field, values percent-escaped (%, CR, LF,
//   NUL and bytes outside printable ASCII), so any header text or address
//   survives the round trip byte for byte. Keys:
//     t=UNIX-SECONDS   n=NONCE (32 hex)   r=RECIPIENT (repeated, at least one)
//     e=smime|pgp|auto f=bounce|hold|incamail (only with e)
//     s=1 (sign)  d=1 (decrypt)  v=1 (verify)  i=c|p|r (IncaMail type)
//     a=NAME:VALUE (add header, repeated)  x=NAME (remove header, repeated)
//     g=TAG (subject tag)
//     c=cbc|gcm (content cipher, only with e; absent: the milter decides)
//     o=off|soft|hard (revocation checking; absent: the milter's setting)
//     u=1 (remove the signature layer after verifying, only with v)
//     D=TAG S=TAG B=TAG (subject tag when decrypted / signature valid /
//                        signature present but not valid)
//     k=smime|pgp|all (attach the sender's keys: a {send_keys} command)
//   The format is version 1 of the header (see sealer.hpp): a new key means a
//   new version, so decode_payload refuses unknown and repeated single keys
//   rather than skipping them.
// THREADS
//   Values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::plan {

enum class EncryptMethod { none, smime, pgp, automatic };
// What to do when no key or certificate exists for a recipient.
enum class EncryptFallback { bounce, hold, incamail };
enum class IncaMailType { none, confidential, personal, registered };  // c, p, r
// The S/MIME content cipher the policy demands; automatic leaves it to
// postern-crypto (its setting and what recipients are known to support).
enum class ContentCipher { automatic, cbc, gcm };
// Revocation checking of signers and recipient certificates; inherit
// leaves it to postern-crypto's setting.
enum class Revocation { inherit, off, soft_fail, hard_fail };  // o=off|soft|hard
// Which of the sender's public keys to attach ({send_keys} commands).
enum class SendKeys { none, smime, pgp, all };

// Subject tags postern-crypto puts in front of the Subject of inbound mail
// by what it found; empty: no tag.
struct SecurityTags {
  std::string decrypted;          // D=
  std::string signature_valid;    // S=
  std::string signature_invalid;  // B=
  bool operator==(const SecurityTags&) const = default;
  bool empty() const noexcept { return decrypted.empty() && signature_valid.empty() && signature_invalid.empty(); }
};

struct HeaderField {
  std::string name;
  std::string value;
  bool operator==(const HeaderField&) const = default;
};

struct Plan {
  std::vector<std::string> recipients;
  EncryptMethod encrypt = EncryptMethod::none;
  EncryptFallback fallback = EncryptFallback::bounce;
  bool sign = false;
  bool decrypt = false;
  bool verify = false;
  IncaMailType incamail = IncaMailType::none;
  std::vector<HeaderField> add_headers;
  std::vector<std::string> remove_headers;
  std::string subject_tag;
  ContentCipher cipher = ContentCipher::automatic;
  Revocation revocation = Revocation::inherit;
  bool remove_signature = false;
  SecurityTags security_tags;
  SendKeys send_keys = SendKeys::none;

  bool operator==(const Plan&) const = default;
};

// When and under which nonce a plan was sealed.
struct Stamp {
  std::int64_t time = 0;  // seconds since the epoch
  std::string nonce;      // 32 lowercase hex digits
  bool operator==(const Stamp&) const = default;
};

struct StampedPlan {
  Plan plan;
  Stamp stamp;
};

const char* to_string(EncryptMethod m) noexcept;    // "none", "smime", "pgp", "auto"
const char* to_string(EncryptFallback f) noexcept;  // "bounce", "hold", "incamail"
const char* to_string(IncaMailType t) noexcept;     // "none", "c", "p", "r"
const char* to_string(ContentCipher c) noexcept;   // "auto", "cbc", "gcm"
const char* to_string(Revocation r) noexcept;      // "inherit", "off", "soft", "hard"
const char* to_string(SendKeys k) noexcept;        // "none", "smime", "pgp", "all"
std::optional<EncryptMethod> parse_encrypt_method(std::string_view s) noexcept;
std::optional<EncryptFallback> parse_encrypt_fallback(std::string_view s) noexcept;
std::optional<IncaMailType> parse_incamail_type(std::string_view s) noexcept;
std::optional<ContentCipher> parse_content_cipher(std::string_view s) noexcept;
std::optional<Revocation> parse_revocation(std::string_view s) noexcept;
std::optional<SendKeys> parse_send_keys(std::string_view s) noexcept;

// Throws std::invalid_argument for a plan that cannot be represented: no
// recipients, an empty recipient or header name, a header name with ':' or
// characters outside printable ASCII, a stamp whose nonce is not 32 hex digits.
std::string encode_payload(const Plan& plan, const Stamp& stamp);
// nullopt for anything encode_payload would not have written.
std::optional<StampedPlan> decode_payload(std::string_view payload);

}  // namespace postern::plan
