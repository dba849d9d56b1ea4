// NAME
//   keyring - the OpenPGP keys of a GnuPG home, through GPGME
// SUMMARY
//   gpg::Keyring ring("/var/lib/postern/gnupg");
//   std::vector<gpg::KeyInfo> keys = ring.keys_for("b@example.net", gpg::Secret::no);
//   bool ok = ring.has_usable_key("b@example.net", gpg::Use::encrypt);
// DESCRIPTION
//   The one wrapper of GPGME (OpenPGP protocol only). Every call makes its
//   own gpgme_ctx_t (RAII) with the engine's home directory set to the
//   keyring's, lists the keys whose user ids carry the address ("<addr>"
//   pattern) and reads their flags. A key is usable for a use when the key
//   is not revoked, expired, disabled or invalid, has a user id that is the
//   address exactly (ASCII case-insensitive) and is neither revoked nor
//   invalid, and has a subkey that can do the use and is itself not
//   revoked, expired, disabled or invalid. For signing the key must also be
//   a secret key in the keyring.
//   GPGME runs a gpg process per listing (and gpg starts a gpg-agent in
//   the home for secret keys); callers that ask often should cache.
// DIAGNOSTICS
//   gpg::Error with GPGME's text ("gpgme_op_keylist_start: No such file
//   or directory"); never key material.
// THREADS
//   Safe from any thread: no context is shared.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postern::gpg {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Secret { no, yes };
enum class Use { encrypt, sign };

struct KeyInfo {
  std::string fingerprint;
  std::vector<std::string> emails;  // of the valid user ids
  bool revoked = false;
  bool expired = false;
  bool disabled = false;
  bool invalid = false;
  bool secret = false;
  bool can_encrypt = false;  // a usable subkey can
  bool can_sign = false;
};

// "" when `key` is usable for `use` by `address`, else why not
// ("revoked", "expired", "disabled", "invalid", "no user id ...",
// "no usable encryption subkey", "no secret key").
std::string why_unusable(const KeyInfo& key, std::string_view address, Use use);

class Keyring {
 public:
  explicit Keyring(std::filesystem::path home) : home_(std::move(home)) {}

  std::vector<KeyInfo> keys_for(std::string_view address, Secret secret) const;
  bool has_usable_key(std::string_view address, Use use) const;

  const std::filesystem::path& home() const noexcept { return home_; }

 private:
  std::filesystem::path home_;
};

}  // namespace postern::gpg
