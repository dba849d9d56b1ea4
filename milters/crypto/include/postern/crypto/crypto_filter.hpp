// NAME
//   crypto_filter - the S/MIME milter: carries out postern-policy's signed plan
// SUMMARY
//   auto filter = std::make_shared<const CryptoFilter>(Settings::from(*config));
//   // or, as the program does: build_filter(config)
// DESCRIPTION
//   postern-crypto is the last milter of the chain (spf, policy, incamail,
//   crypto). It does nothing on its own: it acts only on the one
//   X-Postern-Plan header postern-policy wrote (HMAC-verified with the
//   shared secret, replays refused), and removes that header whenever it
//   acts. No plan: the message passes unchanged (ACCEPT at end of headers).
//   A plan that does not verify, or more than one: 451 4.7.0.
//   Outbound (plan sign / encrypt): the signing identity of the From
//   address (a single mailbox; else the envelope sender) and an encryption
//   certificate for every plan recipient are selected from the key store
//   at end of headers (with an ldap: section, the directory is asked for
//   recipients the store has no usable certificate for; a directory that
//   cannot be asked: 451 4.7.0, log ldap_lookup_failed, no fallback).
//   No signing identity: 451 4.7.0 and an error log
//   line (a configuration problem). Each recipient certificate's chain is
//   checked for revocation (revocation.mode, or the plan's choice; a revoked
//   one, or under hard_fail one of unknown status, is not used and the next
//   usable one is tried). A recipient without a usable
//   certificate: the plan's fallback - bounce (550 5.7.1 naming them, for
//   the whole transaction), hold (quarantine with the reason, unchanged),
//   incamail (every recipient of the transaction is rerouted to
//   local@domain.incamail.ch as postern-incamail does, NOTIFY and ORCPT
//   kept, and nothing is S/MIME-encrypted: one body cannot serve both; a
//   recipient IncaMail cannot take refuses the message with 5xx).
//   encrypt=pgp: OpenPGP is not built yet, so the fallback applies to every
//   recipient. At end of message the message is signed, then encrypted
//   (common/smime; outbound.cipher auto: AES-256-GCM when every
//   certificate's holder is known to support it, keystore supports_gcm),
//   and its body and Content-* / MIME-Version fields (and
//   the Subject with header protection) are replaced. Any failure where a
//   transform was required: 451 4.7.0, never the plaintext.
//   Inbound (plan decrypt / verify): opened with every key of the
//   recipients that can decrypt (KeyStore::decryption_identities) (and
//   the organisation key) and the store's trust anchors; an encrypted
//   message is replaced by its decrypted content. X-Postern-Security
//   (security_header.hpp) says what was found; incoming copies of it are
//   removed. A valid signature whose signer is the From address has its
//   certificate harvested into the store, with its SMIMECapabilities. Mail that cannot be opened is
//   delivered unchanged with the reason in X-Postern-Security.
//   Bodies are collected in a mime::BodySpool (bounded memory).
//   All recipients of one transaction share one envelope: EC recipient
//   certificates lock NSS (Thunderbird) users out of it (docs/smime.md);
//   postern-policy's groups are where recipients get their own envelopes.
// THREADS
//   The filter is immutable apart from the sealer's replay guard and the
//   key store, both thread-safe; each session belongs to one connection.
#pragma once

#include <memory>
#include <optional>

#include "postern/config/config.hpp"
#include "postern/crypto/settings.hpp"
#include "postern/keystore/key_store.hpp"
#include "postern/milter/filter.hpp"
#include "postern/plan/sealer.hpp"
#include "postern/revocation/checker.hpp"
#include "postern/smime/smime.hpp"

namespace postern::crypto {

class CryptoFilter final : public milter::Filter {
 public:
  // Throws core::ConfigError when the plan secret or the organisation key
  // cannot be loaded.
  explicit CryptoFilter(Settings settings);

  milter::Capabilities capabilities() const override;
  std::unique_ptr<milter::Session> open_session() const override;

  const Settings& settings() const noexcept { return settings_; }
  plan::Sealer& sealer() const noexcept { return *sealer_; }
  keystore::KeyStore& store() const noexcept { return *store_; }
  // Shared by every session; run in soft_fail mode (each plan applies its own).
  const revocation::Checker* revocation() const noexcept { return revocation_.get(); }
  // nullptr when no organisation key is configured.
  const smime::Credential* organisation() const noexcept { return organisation_ ? &*organisation_ : nullptr; }

 private:
  Settings settings_;
  std::unique_ptr<plan::Sealer> sealer_;  // verify() keeps a replay guard: not const
  std::shared_ptr<keystore::KeyStore> store_;
  std::unique_ptr<revocation::Checker> revocation_;  // shared by every session; caches answers
  std::optional<smime::Credential> organisation_;
};

// Program::build for postern-crypto.
std::shared_ptr<const milter::Filter> build_filter(std::shared_ptr<const config::Config> config);

}  // namespace postern::crypto
