// NAME
//   settings - postern-incamail's configuration, declared once
// SUMMARY
//   const config::Schema& s = incamail::schema();
//   Settings settings = Settings::from(config);   // throws core::ConfigError
// DESCRIPTION
//   schema() declares every key (with the common milter and log keys); the
//   same declaration validates files and generates docs/reference/incamail.md.
//   Settings::from() turns a validated Config into the typed values the
//   filter uses and checks what the schema alone cannot: domain syntax
//   (entries are stored as lowercase A-labels), printable tag text, and
//   certificate lists that only make sense together.
//   Domain lists follow Postfix's convention: "example.com" matches that
//   domain only, ".example.com" its subdomains only.
// THREADS
//   Values; immutable once built.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "postern/config/config.hpp"
#include "postern/config/schema.hpp"
#include "postern/core/net.hpp"
#include "postern/incamail/tag_scanner.hpp"

namespace postern::incamail {

inline constexpr const char* kDefaultSocket = "inet:10033@127.0.0.1";
inline constexpr std::string_view kHeaderName = "X-Postern-IncaMail";
inline constexpr std::string_view kPlatformDomain = "incamail.ch";

const config::Schema& schema();

// Lowercase A-label domains with Postfix's leading-dot convention.
class DomainList {
 public:
  DomainList() = default;
  // Throws core::ConfigError at `where` for an entry that is not a domain.
  DomainList(const std::vector<std::string>& entries, const core::Location& where);
  // domain: lowercase A-labels, as mime::Mailbox::domain_ascii() gives it.
  bool matches(std::string_view domain) const noexcept;
  // Some listed domain appears in text (ASCII case ignored): a fallback for
  // header values too broken to parse as addresses.
  bool mentioned_in(std::string_view text) const noexcept;
  bool empty() const noexcept { return exact_.empty() && parents_.empty(); }

 private:
  std::vector<std::string> exact_;
  std::vector<std::string> parents_;  // ".example.com"
};

struct Settings {
  enum class OnBadTag { reject, confidential };
  enum class Untagged { tag_confidential, keep };
  enum class OnRegisteredTooLarge { warn, reject };
  enum class OnUnverified { tag, reject };

  // Who is internal.
  std::vector<core::Network> internal_networks;
  std::vector<std::string> internal_listeners;  // {daemon_name} values
  bool authenticated_is_internal = true;
  DomainList internal_domains;

  // Outbound.
  TagScanner::Options tags;
  OnBadTag on_bad_tag = OnBadTag::reject;
  Untagged untagged_incamail_recipient = Untagged::tag_confidential;
  std::uint64_t max_size = 0;
  std::uint64_t registered_max_size = 0;
  OnRegisteredTooLarge on_registered_too_large = OnRegisteredTooLarge::warn;

  // Inbound.
  std::vector<std::string> cert_subjects;  // Common Names, compared exactly
  std::vector<std::string> cert_issuers;
  DomainList lookalike_domains;
  std::vector<std::string> lookalike_subject_marks;  // compared without regard to ASCII case
  OnUnverified on_unverified = OnUnverified::tag;
  std::string unverified_tag;

  // Plans from postern-policy: read only when a secret is configured.
  std::string plan_secret_file;
  std::chrono::seconds plan_max_age{600};

  static Settings from(const config::Config& config);
};

}  // namespace postern::incamail
