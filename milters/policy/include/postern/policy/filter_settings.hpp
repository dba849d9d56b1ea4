// NAME
//   filter_settings - postern-policy's configuration, declared once
// SUMMARY
//   const config::Schema& s = policy::filter_schema();
//   FilterSettings settings = FilterSettings::from(config);  // throws core::ConfigError
// DESCRIPTION
//   filter_schema() declares every key of /etc/postern/policy.yaml (with the
//   common milter and log keys); the same declaration validates files and
//   generates docs/reference/policy.md. The rules themselves live in their
//   own file (`rules`, default /etc/postern/policy-rules.yaml, the file
//   `posternctl policy check` reads).
//   The sections `ldap` and `keystore` are reserved for the directory and
//   key store connections; they declare no keys yet.
//   FilterSettings::from() turns a validated Config into typed values and
//   checks what the schema cannot: the notification addresses parse.
// THREADS
//   Values; immutable once built.
#pragma once

#include <chrono>
#include <string>

#include "postern/config/config.hpp"
#include "postern/config/schema.hpp"
#include "postern/ldap/settings.hpp"
#include "postern/mime/body_spool.hpp"
#include "postern/smtp/client.hpp"

namespace postern::policy {

inline constexpr const char* kDefaultSocket = "inet:10032@127.0.0.1";

const config::Schema& filter_schema();

struct FilterSettings {
  std::string rules_file;
  bool subject_commands = true;  // policy.subject_commands
  std::string secret_file;
  std::chrono::seconds plan_max_age{600};

  smtp::Endpoint reinjection{"127.0.0.1", 10030};
  smtp::Options smtp;

  std::string notice_sender;  // From: of notices, local@domain
  std::string admin;          // alert recipient when the rule names none; "" for none
  std::string hostname;       // Message-ID domain and Reporting-MTA

  mime::SpoolOptions spool;

  ldap::Settings ldap;        // ldap.uris empty: no directory
  std::string keystore_root;  // keystore.root

  static FilterSettings from(const config::Config& config);
};

}  // namespace postern::policy
