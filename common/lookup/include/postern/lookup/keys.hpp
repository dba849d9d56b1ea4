// NAME
//   keys - whether a usable key or certificate exists for an address
// SUMMARY
//   std::shared_ptr<const KeyFinder> keys = ...;   // common/keystore implements it
//   Lookup<bool> r = keys->has_usable_key("b@example.net", KeyKind::smime_encrypt);
// DESCRIPTION
//   The question the policy condition `key_available` asks. "Usable" means
//   what the crypto milter would accept to use right now: for S/MIME a
//   certificate whose subjectAltName (or subject emailAddress) carries the
//   address, inside its validity period, with a key usage and extended key
//   usage that allow the purpose, and not known to be revoked; for OpenPGP
//   a valid, unrevoked, unexpired key with a user id of the address and a
//   capable (sub)key. Addresses are in policy::normalize_address() form.
// THREADS
//   Implementations must be safe from any thread.
#pragma once

#include <string_view>

#include "postern/lookup/result.hpp"

namespace postern::lookup {

enum class KeyKind {
  smime_encrypt,  // a recipient certificate to encrypt to
  smime_sign,     // our own certificate and private key to sign with
  pgp_encrypt,
  pgp_sign,
};

inline const char* to_string(KeyKind k) noexcept {
  switch (k) {
    case KeyKind::smime_encrypt: return "smime-encrypt";
    case KeyKind::smime_sign: return "smime-sign";
    case KeyKind::pgp_encrypt: return "pgp-encrypt";
    case KeyKind::pgp_sign: return "pgp-sign";
  }
  return "?";
}

class KeyFinder {
 public:
  virtual ~KeyFinder() = default;
  virtual Lookup<bool> has_usable_key(std::string_view address, KeyKind kind) const = 0;
};

}  // namespace postern::lookup
