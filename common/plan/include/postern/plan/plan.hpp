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
std::optional<EncryptMethod> parse_encrypt_method(std::string_view s) noexcept;
std::optional<EncryptFallback> parse_encrypt_fallback(std::string_view s) noexcept;
std::optional<IncaMailType> parse_incamail_type(std::string_view s) noexcept;

// Throws std::invalid_argument for a plan that cannot be represented: no
// recipients, an empty recipient or header name, a header name with ':' or
// characters outside printable ASCII, a stamp whose nonce is not 32 hex digits.
std::string encode_payload(const Plan& plan, const Stamp& stamp);
// nullopt for anything encode_payload would not have written.
std::optional<StampedPlan> decode_payload(std::string_view payload);

}  // namespace postern::plan
