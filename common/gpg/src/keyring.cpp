#include "postern/gpg/keyring.hpp"

#include <gpgme.h>

#include <algorithm>
#include <mutex>

#include "postern/core/c_unique.hpp"
#include "postern/core/strings.hpp"

namespace postern::gpg {
namespace {

using ContextPtr = core::CUnique<gpgme_context, &gpgme_release>;
using KeyPtr = core::CUnique<_gpgme_key, &gpgme_key_unref>;

void initialise() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (gpgme_check_version(nullptr) == nullptr) throw Error("GPGME could not be initialised");
  });
}

[[noreturn]] void fail(const char* what, gpgme_error_t err) {
  throw Error(std::string(what) + ": " + gpgme_strerror(err));
}

ContextPtr make_context(const std::filesystem::path& home) {
  initialise();
  gpgme_ctx_t raw = nullptr;
  if (gpgme_error_t err = gpgme_new(&raw); err != 0) fail("gpgme_new", err);
  ContextPtr ctx(raw);
  if (gpgme_error_t err = gpgme_set_protocol(ctx.get(), GPGME_PROTOCOL_OpenPGP); err != 0) {
    fail("gpgme_set_protocol", err);
  }
  if (gpgme_error_t err = gpgme_ctx_set_engine_info(ctx.get(), GPGME_PROTOCOL_OpenPGP, nullptr, home.c_str());
      err != 0) {
    fail("gpgme_ctx_set_engine_info", err);
  }
  gpgme_set_offline(ctx.get(), 1);
  return ctx;
}

bool subkey_usable(gpgme_subkey_t s) { return !s->revoked && !s->expired && !s->disabled && !s->invalid; }

KeyInfo describe(gpgme_key_t key) {
  KeyInfo k;
  k.fingerprint = key->fpr != nullptr ? key->fpr : "";
  k.revoked = key->revoked != 0;
  k.expired = key->expired != 0;
  k.disabled = key->disabled != 0;
  k.invalid = key->invalid != 0;
  k.secret = key->secret != 0;
  for (gpgme_user_id_t uid = key->uids; uid != nullptr; uid = uid->next) {
    if (uid->revoked || uid->invalid || uid->email == nullptr) continue;
    k.emails.emplace_back(uid->email);
  }
  for (gpgme_subkey_t s = key->subkeys; s != nullptr; s = s->next) {
    if (!subkey_usable(s)) continue;
    k.can_encrypt = k.can_encrypt || s->can_encrypt;
    k.can_sign = k.can_sign || s->can_sign;
  }
  return k;
}

}  // namespace

std::string why_unusable(const KeyInfo& key, std::string_view address, Use use) {
  if (key.revoked) return "revoked";
  if (key.expired) return "expired";
  if (key.disabled) return "disabled";
  if (key.invalid) return "invalid";
  const bool named = std::any_of(key.emails.begin(), key.emails.end(),
                                 [&](const std::string& e) { return core::iequals(e, address); });
  if (!named) return "no valid user id with the address";
  if (use == Use::encrypt && !key.can_encrypt) return "no usable encryption subkey";
  if (use == Use::sign && !key.can_sign) return "no usable signing subkey";
  if (use == Use::sign && !key.secret) return "no secret key";
  return {};
}

std::vector<KeyInfo> Keyring::keys_for(std::string_view address, Secret secret) const {
  for (char c : address) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '<' || c == '>') throw Error("not an address usable as a key search");
  }
  ContextPtr ctx = make_context(home_);
  const std::string pattern = "<" + std::string(address) + ">";
  if (gpgme_error_t err = gpgme_op_keylist_start(ctx.get(), pattern.c_str(), secret == Secret::yes ? 1 : 0); err != 0) {
    fail("gpgme_op_keylist_start", err);
  }
  std::vector<KeyInfo> out;
  for (;;) {
    gpgme_key_t raw = nullptr;
    const gpgme_error_t err = gpgme_op_keylist_next(ctx.get(), &raw);
    if (gpgme_err_code(err) == GPG_ERR_EOF) break;
    if (err != 0) {
      gpgme_op_keylist_end(ctx.get());
      fail("gpgme_op_keylist_next", err);
    }
    KeyPtr key(raw);
    out.push_back(describe(key.get()));
  }
  if (gpgme_error_t err = gpgme_op_keylist_end(ctx.get()); err != 0) fail("gpgme_op_keylist_end", err);
  return out;
}

bool Keyring::has_usable_key(std::string_view address, Use use) const {
  const auto keys = keys_for(address, use == Use::sign ? Secret::yes : Secret::no);
  return std::any_of(keys.begin(), keys.end(), [&](const KeyInfo& k) { return why_unusable(k, address, use).empty(); });
}

}  // namespace postern::gpg
