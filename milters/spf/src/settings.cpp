#include "postern/spf_milter/settings.hpp"

#include <unistd.h>

#include <climits>

#include "postern/core/net.hpp"
#include "postern/core/error.hpp"
#include "postern/core/strings.hpp"
#include "postern/milter/program.hpp"

namespace postern::spf_milter {
namespace {

config::Schema build_schema() {
  using config::Type;
  config::Schema s("postern-spf",
                   "Checks SPF (RFC 7208) for MAIL FROM and HELO and SenderID (RFC 4406) for the purported "
                   "responsible address, writes Received-SPF and Authentication-Results, and in SecureMail "
                   "mode rejects failing senders and sessions without strong TLS.");
  milter::declare_common_keys(s, kDefaultSocket);

  s.section("spf", "What is checked and how results are written");
  s.key({.path = "spf.mode",
         .type = Type::string,
         .default_value = "best_effort",
         .doc = "best_effort: check and annotate; securemail: also reject failures and weak TLS inside the "
                "securemail scope",
         .choices = {"best_effort", "securemail"}});
  s.key({.path = "spf.authserv_id",
         .type = Type::string,
         .default_value = "\"\"",
         .doc = "authserv-id of Authentication-Results and receiver= of Received-SPF (empty: this host's name)"});
  s.key({.path = "spf.check_helo",
         .type = Type::boolean,
         .default_value = "true",
         .doc = "also check the HELO name as its own identity (reported as smtp.helo)"});
  s.key({.path = "spf.received_spf",
         .type = Type::boolean,
         .default_value = "true",
         .doc = "add a Received-SPF header (RFC 7208 §9.1) beside Authentication-Results"});
  s.key({.path = "spf.trusted_networks",
         .type = Type::network_list,
         .default_value = "[127.0.0.0/8, '::1']",
         .doc = "clients that are not checked (their mail gets no SPF headers)"});
  s.key({.path = "spf.skip_authenticated",
         .type = Type::boolean,
         .default_value = "true",
         .doc = "do not check SASL-authenticated clients ({auth_authen})"});

  s.section("senderid", "SenderID (RFC 4406/4407), advisory unless enforced (RFC 6686)");
  s.key({.path = "senderid.enabled",
         .type = Type::boolean,
         .default_value = "true",
         .doc = "check the purported responsible address and report senderid= in Authentication-Results"});
  s.key({.path = "senderid.enforce",
         .type = Type::boolean,
         .default_value = "false",
         .doc = "in securemail mode and scope, reject a SenderID fail (5.7.1)"});

  s.section("best_effort", "Replies outside the securemail scope, and in best_effort mode");
  s.key({.path = "best_effort.on_temperror",
         .type = Type::string,
         .default_value = "continue",
         .doc = "a temporary DNS error: accept and annotate, or answer 451 4.4.3",
         .choices = {"continue", "tempfail"}});
  s.key({.path = "best_effort.on_permerror",
         .type = Type::string,
         .default_value = "continue",
         .doc = "a broken SPF record: accept and annotate, or reject with 550 5.7.24",
         .choices = {"continue", "reject"}});

  s.section("securemail", "SecureMail mode: what is rejected, and where");
  s.key({.path = "securemail.reject_softfail",
         .type = Type::boolean,
         .default_value = "false",
         .doc = "also reject SPF softfail (fail is always rejected)"});
  s.key({.path = "securemail.on_temperror",
         .type = Type::string,
         .default_value = "tempfail",
         .doc = "a temporary DNS error: 451 4.4.3 so the sender retries, or accept and annotate",
         .choices = {"tempfail", "continue"}});
  s.key({.path = "securemail.on_permerror",
         .type = Type::string,
         .default_value = "reject",
         .doc = "a broken SPF record: reject with 550 5.7.24, or accept and annotate",
         .choices = {"reject", "continue"}});
  s.key({.path = "securemail.require_tls",
         .type = Type::boolean,
         .default_value = "true",
         .doc = "reject sessions without TLS, or with TLS below the minimums below (5.7.0)"});
  s.key({.path = "securemail.min_tls_version",
         .type = Type::string,
         .default_value = "TLSv1.2",
         .doc = "lowest TLS protocol accepted",
         .choices = {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}});
  s.key({.path = "securemail.min_cipher_bits",
         .type = Type::integer,
         .default_value = "256",
         .doc = "lowest symmetric cipher strength accepted ({cipher_bits})",
         .min = 0,
         .max = 512});
  s.key({.path = "securemail.require_forward_secrecy",
         .type = Type::boolean,
         .default_value = "true",
         .doc = "require TLS 1.3 or an ECDHE/DHE key exchange"});
  s.key({.path = "securemail.listeners",
         .type = Type::string_list,
         .doc = "scope: Postfix listeners ({daemon_name}, master.cf -o milter_macro_daemon_name=NAME)"});
  s.key({.path = "securemail.recipient_domains",
         .type = Type::string_list,
         .doc = "scope: recipient domains (example.com exactly, .example.com its subdomains); checked per "
                "recipient"});
  s.key({.path = "securemail.sender_domains",
         .type = Type::string_list,
         .doc = "scope: MAIL FROM domains, written like recipient_domains"});

  s.section("dns", "How DNS is asked");
  s.key({.path = "dns.servers",
         .type = Type::string_list,
         .doc = "IPv4 resolvers as ADDRESS or ADDRESS:PORT, at most 3 (empty: /etc/resolv.conf)"});
  s.key({.path = "dns.timeout",
         .type = Type::duration,
         .default_value = "2s",
         .doc = "wait for one answer before trying again (whole seconds)",
         .min = 1000,
         .max = 10000});
  s.key({.path = "dns.attempts",
         .type = Type::integer,
         .default_value = "2",
         .doc = "tries per question",
         .min = 1,
         .max = 5});
  s.key({.path = "dns.check_budget",
         .type = Type::duration,
         .default_value = "8s",
         .doc = "wall-clock limit of one SPF check; past it the result is temperror (HELO and MAIL FROM "
                "checks run one after the other inside Postfix's 30 s command timeout)",
         .min = 1000,
         .max = 12000});
  s.key({.path = "dns.cache_entries",
         .type = Type::integer,
         .default_value = "100000",
         .doc = "answers kept in the shared cache",
         .min = 32,
         .max = 10000000});
  s.key({.path = "dns.cache_min_ttl",
         .type = Type::duration,
         .default_value = "30s",
         .doc = "keep every answer at least this long",
         .min = 0,
         .max = 86400000});
  s.key({.path = "dns.cache_max_ttl",
         .type = Type::duration,
         .default_value = "1h",
         .doc = "keep no answer longer than this",
         .min = 1000,
         .max = 7 * 86400000LL});
  return s;
}

std::vector<std::string> lowered(const std::vector<std::string>& list) {
  std::vector<std::string> out;
  for (const auto& d : list) {
    out.push_back(core::ascii_lower(d));
  }
  return out;
}

std::uint32_t seconds(std::chrono::milliseconds ms) { return static_cast<std::uint32_t>(ms.count() / 1000); }

}  // namespace

const config::Schema& schema() {
  static const config::Schema s = build_schema();
  return s;
}

bool domain_listed(const std::vector<std::string>& list, std::string_view domain) {
  for (const auto& entry : list) {
    if (!entry.empty() && entry.front() == '.' ? core::iends_with(domain, entry) : core::iequals(domain, entry)) {
      return true;
    }
  }
  return false;
}

Settings Settings::from(const config::Config& c) {
  Settings s;
  s.mode = c.get_string("spf.mode") == "securemail" ? Mode::securemail : Mode::best_effort;
  s.authserv_id = c.get_string("spf.authserv_id").empty() ? core::host_name() : c.get_string("spf.authserv_id");
  for (char ch : s.authserv_id) {
    if (ch == ';' || ch == ' ' || ch == '(' || ch == '"' || static_cast<unsigned char>(ch) < 0x21 ||
        static_cast<unsigned char>(ch) > 0x7e) {
      throw core::ConfigError(c.where("spf.authserv_id"), "authserv_id must be a single token such as a host name");
    }
  }
  s.check_helo = c.get_bool("spf.check_helo");
  s.received_spf = c.get_bool("spf.received_spf");
  s.trusted_networks = c.get_networks("spf.trusted_networks");
  s.skip_authenticated = c.get_bool("spf.skip_authenticated");
  s.senderid = c.get_bool("senderid.enabled");
  s.enforce_senderid = c.get_bool("senderid.enforce");
  s.best_effort.on_temperror =
      c.get_string("best_effort.on_temperror") == "tempfail" ? OnDnsError::tempfail : OnDnsError::proceed;
  s.best_effort.on_permerror =
      c.get_string("best_effort.on_permerror") == "reject" ? OnPermError::reject : OnPermError::proceed;
  s.securemail.on_temperror =
      c.get_string("securemail.on_temperror") == "tempfail" ? OnDnsError::tempfail : OnDnsError::proceed;
  s.securemail.on_permerror =
      c.get_string("securemail.on_permerror") == "reject" ? OnPermError::reject : OnPermError::proceed;
  s.reject_softfail = c.get_bool("securemail.reject_softfail");
  s.require_tls = c.get_bool("securemail.require_tls");
  s.tls.min_version = tls_version_rank(c.get_string("securemail.min_tls_version"));
  s.tls.min_bits = static_cast<int>(c.get_int("securemail.min_cipher_bits"));
  s.tls.forward_secrecy = c.get_bool("securemail.require_forward_secrecy");
  s.scope_listeners = c.get_list("securemail.listeners");
  s.scope_recipient_domains = lowered(c.get_list("securemail.recipient_domains"));
  s.scope_sender_domains = lowered(c.get_list("securemail.sender_domains"));

  std::vector<core::Diagnostic> problems;
  for (const auto& text : c.get_list("dns.servers")) {
    try {
      s.dns.servers.push_back(spf::parse_dns_server(text));
      if (!s.dns.servers.back().address.is_v4()) {
        throw std::invalid_argument("DNS server " + text + ": only IPv4 servers can be configured");
      }
    } catch (const std::invalid_argument& e) {
      problems.push_back({c.where("dns.servers"), e.what()});
    }
  }
  if (s.dns.servers.size() > 3) {
    problems.push_back({c.where("dns.servers"), "at most 3 DNS servers"});
  }
  if (c.get_duration("dns.cache_min_ttl") > c.get_duration("dns.cache_max_ttl")) {
    problems.push_back({c.where("dns.cache_min_ttl"), "cache_min_ttl is longer than cache_max_ttl"});
  }
  if (!problems.empty()) {
    throw core::ConfigError(std::move(problems));
  }
  s.dns.timeout = std::chrono::duration_cast<std::chrono::seconds>(c.get_duration("dns.timeout"));
  s.dns.attempts = static_cast<int>(c.get_int("dns.attempts"));
  s.cache.max_entries = static_cast<std::size_t>(c.get_int("dns.cache_entries"));
  s.cache.min_ttl = seconds(c.get_duration("dns.cache_min_ttl"));
  s.cache.max_ttl = seconds(c.get_duration("dns.cache_max_ttl"));
  s.limits.budget = c.get_duration("dns.check_budget");
  return s;
}

}  // namespace postern::spf_milter
