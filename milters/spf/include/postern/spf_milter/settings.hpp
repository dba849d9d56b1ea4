// NAME
//   settings - postern-spf's configuration: schema and validated snapshot
// SUMMARY
//   auto s = Settings::from(config);   // throws core::ConfigError
// DESCRIPTION
//   Two modes. best_effort checks and annotates and never rejects an SPF
//   result (DNS trouble and broken records only when configured).
//   securemail, inside its scope, rejects SPF fail (and softfail when asked),
//   SenderID fail when enforced, and sessions without TLS of the required
//   strength. The scope is the union of listeners ({daemon_name}), recipient
//   domains and sender domains; all three empty means everywhere. Outside
//   the scope a securemail gateway behaves as best_effort, so a public MX
//   need not demand TLS of everyone (RFC 3207 §4).
//   Trusted networks and SASL-authenticated clients are not checked.
// THREADS
//   Immutable after building.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "postern/config/config.hpp"
#include "postern/config/schema.hpp"
#include "postern/core/net.hpp"
#include "postern/spf/checker.hpp"
#include "postern/spf/dns_cache.hpp"
#include "postern/spf/stub_resolver.hpp"
#include "postern/spf_milter/tls_policy.hpp"

namespace postern::spf_milter {

inline constexpr const char* kDefaultSocket = "inet:10031@127.0.0.1";

enum class Mode { best_effort, securemail };
enum class OnDnsError { proceed, tempfail };
enum class OnPermError { proceed, reject };

struct ModeRules {
  OnDnsError on_temperror = OnDnsError::proceed;
  OnPermError on_permerror = OnPermError::proceed;
};

struct Settings {
  Mode mode = Mode::best_effort;
  std::string authserv_id;
  bool check_helo = true;
  bool received_spf = true;
  std::vector<core::Network> trusted_networks;
  bool skip_authenticated = true;

  bool senderid = true;
  bool enforce_senderid = false;

  ModeRules best_effort;
  ModeRules securemail{OnDnsError::tempfail, OnPermError::reject};
  bool reject_softfail = false;
  bool require_tls = true;
  TlsRequirements tls;
  std::vector<std::string> scope_listeners;
  std::vector<std::string> scope_recipient_domains;
  std::vector<std::string> scope_sender_domains;

  spf::StubSettings dns;
  spf::CacheSettings cache;
  spf::Limits limits;

  static Settings from(const config::Config& config);
};

const config::Schema& schema();

// example.com matches exactly, .example.com its subdomains; case-insensitive.
bool domain_listed(const std::vector<std::string>& list, std::string_view domain);

}  // namespace postern::spf_milter
