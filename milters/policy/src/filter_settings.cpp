#include "postern/policy/filter_settings.hpp"

#include <unistd.h>

#include "postern/core/net.hpp"
#include "postern/core/error.hpp"
#include "postern/ldap/settings.hpp"
#include "postern/milter/program.hpp"
#include "postern/mime/address.hpp"

namespace postern::policy {

namespace {

config::Schema build_schema() {
  using config::Type;
  config::Schema s("postern-policy",
                   "Removes forged X-Postern-* headers, decides per recipient with the policy rules, carries out "
                   "reject, discard, hold, redirect, forward, header edits and notices itself, and hands each "
                   "recipient group's signed plan to the milters after it.");
  milter::declare_common_keys(s, kDefaultSocket);

  s.section("policy", "The rules");
  s.key({.path = "policy.rules",
         .type = Type::path,
         .default_value = "/etc/postern/policy-rules.yaml",
         .doc = "the rules file (docs/policy.md). Reloaded with the configuration on SIGUSR1; a file with "
                "errors keeps the old rules"});
  s.key({.path = "policy.subject_commands",
         .type = Type::boolean,
         .default_value = "true",
         .doc = "honour {send_keys}, {send_keys_smime} and {send_keys_pgp} in the Subject from authenticated "
                "internal senders (docs/policy.md); false: commands are left in the Subject and only logged"});

  s.section("plan", "The signed X-Postern-Plan header");
  s.key({.path = "plan.secret_file",
         .type = Type::path,
         .default_value = "/etc/postern/plan.key",
         .doc = "the HMAC key shared with the milters after this one (mode 0600 or 0400, at least 32 bytes)"});
  s.key({.path = "plan.max_age",
         .type = Type::duration,
         .default_value = "10m",
         .doc = "how long a plan stays valid after sealing; the milters after this one must use the same value",
         .min = 1000,
         .max = 86400000});

  s.section("reinjection",
            "The loopback listener that takes re-submitted copies and notices (a second smtpd in master.cf "
            "whose milters are only postern-incamail and postern-crypto)");
  s.key({.path = "reinjection.host",
         .type = Type::string,
         .default_value = "127.0.0.1",
         .doc = "address of the re-injection listener"});
  s.key({.path = "reinjection.port",
         .type = Type::integer,
         .default_value = "10030",
         .doc = "its port",
         .min = 1,
         .max = 65535});
  s.key({.path = "reinjection.connect_timeout",
         .type = Type::duration,
         .default_value = "10s",
         .doc = "longest wait for the connection",
         .min = 100,
         .max = 300000});
  s.key({.path = "reinjection.timeout",
         .type = Type::duration,
         .default_value = "60s",
         .doc = "longest wait for each SMTP reply; the message itself gets three times this",
         .min = 100,
         .max = 300000});
  s.key({.path = "reinjection.helo_name",
         .type = Type::string,
         .doc = "name given in EHLO; empty: notifications.hostname"});

  s.section("notifications", "Messages postern-policy writes: acknowledgements, alerts, non-delivery notices");
  s.key({.path = "notifications.sender",
         .type = Type::string,
         .doc = "From: address of every notice (local@domain); empty: postmaster@ the host name. The envelope "
                "sender is always the null sender"});
  s.key({.path = "notifications.admin",
         .type = Type::string,
         .doc = "where an alert goes when its rule names no address; empty: such alerts are logged, not sent"});
  s.key({.path = "notifications.hostname",
         .type = Type::string,
         .doc = "domain of Message-IDs and the Reporting-MTA of non-delivery notices; empty: the host name"});

  s.section("spool", "Where large messages wait while they are judged");
  s.key({.path = "spool.directory",
         .type = Type::path,
         .doc = "folder for message spool files (private, unlinked at once); empty: $TMPDIR, else /tmp"});
  s.key({.path = "spool.memory_limit",
         .type = Type::size,
         .default_value = "1M",
         .doc = "messages up to this size stay in memory",
         .min = 4096,
         .max = std::int64_t{1} << 30});

  // The directory the rules' group and attribute conditions ask; without
  // ldap.uris such a condition fails (tempfail, or false with
  // on_lookup_error: continue in the rules).
  ldap::declare_keys(s);
  s.section("keystore", "The key and certificate store the key_available condition asks");
  s.key({.path = "keystore.root",
         .type = Type::path,
         .default_value = "/var/lib/postern",
         .doc = "the store's folder (docs/keys.md), shared with postern-crypto and posternctl keys"});
  return s;
}

}  // namespace

const config::Schema& filter_schema() {
  static const config::Schema s = build_schema();
  return s;
}

FilterSettings FilterSettings::from(const config::Config& c) {
  std::vector<core::Diagnostic> problems;
  FilterSettings s;
  s.rules_file = c.get_string("policy.rules");
  s.subject_commands = c.get_bool("policy.subject_commands");
  s.secret_file = c.get_string("plan.secret_file");
  s.plan_max_age = std::chrono::duration_cast<std::chrono::seconds>(c.get_duration("plan.max_age"));
  s.reinjection.host = c.get_string("reinjection.host");
  s.reinjection.port = static_cast<unsigned>(c.get_int("reinjection.port"));
  s.smtp.connect_timeout = c.get_duration("reinjection.connect_timeout");
  s.smtp.command_timeout = c.get_duration("reinjection.timeout");
  s.smtp.data_timeout = 3 * s.smtp.command_timeout;
  s.hostname = c.get_string("notifications.hostname");
  if (s.hostname.empty()) s.hostname = core::host_name();
  if (s.hostname.find_first_of(" \t\r\n<>@") != std::string::npos) {
    problems.push_back({c.where("notifications.hostname"), "notifications.hostname: not a host name"});
  }
  s.smtp.helo = c.get_string("reinjection.helo_name");
  if (s.smtp.helo.empty()) s.smtp.helo = s.hostname;

  auto address = [&](std::string_view path, std::string value) -> std::string {
    if (value.empty()) return value;
    try {
      auto box = mime::parse_envelope_path("<" + value + ">");
      if (box) return box->addr_spec();
    } catch (const mime::AddressError&) {
    }
    problems.push_back({c.where(path), std::string(path) + ": '" + value + "' is not an address (local@domain)"});
    return value;
  };
  s.notice_sender = address("notifications.sender", c.get_string("notifications.sender"));
  if (s.notice_sender.empty()) s.notice_sender = "postmaster@" + s.hostname;
  s.admin = address("notifications.admin", c.get_string("notifications.admin"));

  s.spool.directory = c.get_string("spool.directory");
  s.spool.memory_limit = static_cast<std::size_t>(c.get_size("spool.memory_limit"));
  try {
    s.ldap = ldap::settings_from(c);
  } catch (const core::ConfigError& e) {
    problems.insert(problems.end(), e.diagnostics().begin(), e.diagnostics().end());
  }
  s.keystore_root = c.get_string("keystore.root");
  if (!problems.empty()) throw core::ConfigError(std::move(problems));
  return s;
}

}  // namespace postern::policy
