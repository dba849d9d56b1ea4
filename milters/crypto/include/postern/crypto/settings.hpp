// NAME
//   settings - postern-crypto's configuration, declared once
// SUMMARY
//   const config::Schema& s = crypto::schema();
//   Settings settings = Settings::from(config);   // throws core::ConfigError
// DESCRIPTION
//   schema() declares every key (with the common milter and log keys); the
//   same declaration validates files and generates docs/reference/crypto.md.
//   Settings::from() turns a validated Config into typed values and checks
//   what the schema cannot: the plan secret is readable and private, the
//   organisation certificate and key are given together, and
//   milter.on_internal_error is not "accept" (an internal error where a
//   transform was required must never let plaintext through).
// THREADS
//   Values; immutable once built.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "postern/config/config.hpp"
#include "postern/config/schema.hpp"
#include "postern/ldap/settings.hpp"
#include "postern/revocation/result.hpp"
#include "postern/smime/smime.hpp"

namespace postern::crypto {

inline constexpr const char* kDefaultSocket = "inet:10034@127.0.0.1";
inline constexpr std::string_view kSecurityHeader = "X-Postern-Security";

const config::Schema& schema();

struct Settings {
  // Plans from postern-policy.
  std::string plan_secret_file;
  std::chrono::seconds plan_max_age{600};

  std::string keystore_root = "/var/lib/postern";
  // Recipients' certificates the store lacks; uris empty: no directory.
  ldap::Settings ldap;

  // Outbound.
  smime::SignOptions sign;
  smime::EncryptOptions encrypt;
  // outbound.cipher: auto - aes256-gcm when every recipient's certificate
  // supports_gcm, else encrypt.cipher (aes256-cbc).
  bool cipher_auto = false;

  // Inbound.
  std::string organisation_certificate;  // PEM file; "" for none
  std::string organisation_key;          // PEM file (0600); "" for none
  bool harvest = true;
  bool authentication_results = true;
  std::string authserv_id;  // never empty after from()

  // Revocation of inbound signers and outbound recipient certificates.
  // revocation.mode; nullopt: off (no checking beyond the store's CRLs).
  std::optional<revocation::Mode> revocation = revocation::Mode::soft_fail;
  std::chrono::milliseconds revocation_timeout{5000};

  // Spooling of message bodies.
  std::size_t spool_memory_limit = std::size_t{1} << 20;
  std::string spool_directory;

  static Settings from(const config::Config& config);
};

}  // namespace postern::crypto
