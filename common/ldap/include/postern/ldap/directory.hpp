// NAME
//   directory - the organisation's LDAP directory, as the policy asks it
// SUMMARY
//   auto dir = std::make_shared<const ldap::Directory>(ldap::settings_from(cfg));
//   Lookup<std::vector<std::string>> d = dir->attribute("a@example.org", "departmentNumber");
//   Lookup<bool> m = dir->member_of("a@example.org", "staff");     // short name, DN or group_filter name
//   Lookup<std::vector<std::string>> c = dir->certificates("b@example.org");
// DESCRIPTION
//   The entry of an address is the one entry under base_dn that user_filter
//   finds (the address escaped per RFC 4515). No entry answers an empty
//   list / false; more than one entry is a failure ("ambiguous"), because
//   guessing would apply one person's policy to another.
//
//   member_of() resolves the group: a configured short name (groups), a DN
//   (anything with '='), or a name group_filter finds under group_base (no
//   such group answers false). Then the membership styles are tried in
//   order; the first that finds the user answers true. See settings.hpp.
//   DNs in memberOf are compared after ldap_dn_normalize, case-insensitively.
//
//   certificates() answers the values of userCertificate;binary (DER
//   X.509) followed by those of userSMIMECertificate (RFC 2798: PKCS#7
//   SignedData in DER, as published by mail clients), as raw bytes, for the
//   crypto milter to parse and check.
//
//   Every lookup is bounded by operation_timeout as a whole: waiting for a
//   free connection, connecting (also capped by connect_timeout), StartTLS,
//   binding and searching. A search that fails with "server down" on a
//   pooled connection is tried once more on a fresh one (a restarted server
//   closes the connections it had). A failure (down, timeout, bad
//   credentials, TLS, a refused password file, a bad attribute name) comes
//   back as Lookup::failure with a short reason safe to log, never as "not
//   found"; failures are never cached. Answers are cached (positive and
//   negative TTLs) up to cache_entries. The clock is injectable for tests.
// DIAGNOSTICS
//   The constructor throws core::ConfigError for settings that cannot work
//   (no URIs, a bind password file that cannot be read or that others may
//   read). It does not connect: a directory that is down at start-up makes
//   lookups fail, not the milter. It sets SIGPIPE to SIG_IGN when it is
//   still SIG_DFL (libldap writes without MSG_NOSIGNAL; the milters ignore
//   SIGPIPE anyway).
// THREADS
//   Safe from any thread; lookups from many threads share the pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "postern/ldap/cache.hpp"
#include "postern/ldap/pool.hpp"
#include "postern/ldap/settings.hpp"
#include "postern/lookup/directory.hpp"

namespace postern::ldap {

class Directory final : public lookup::Directory {
 public:
  explicit Directory(Settings settings, Clock clock = steady_clock());

  lookup::Lookup<std::vector<std::string>> attribute(std::string_view address,
                                                     std::string_view attribute) const override;
  lookup::Lookup<bool> member_of(std::string_view address, std::string_view group) const override;
  lookup::Lookup<std::vector<std::string>> certificates(std::string_view address) const;

  const Settings& settings() const noexcept { return settings_; }
  // LDAP searches sent (cache hits send none); for tests and statistics.
  std::uint64_t searches() const noexcept { return searches_.load(); }
  const Pool& pool() const noexcept { return pool_; }
  void clear_cache() const;

 private:
  struct Search {
    std::string base;
    int scope;
    std::string filter;
    std::vector<std::string> attributes;
    int size_limit;
  };
  Outcome<std::vector<Entry>> run(const Search& search, Deadline deadline) const;
  // The one entry of `address` with `attributes`; nullopt inside: no entry.
  Outcome<std::optional<Entry>> user(std::string_view address, std::vector<std::string> attributes,
                                     Deadline deadline) const;
  // The DN of `group`; empty: no such group.
  Outcome<std::string> group_dn(std::string_view group, Deadline deadline) const;
  Outcome<bool> is_member(const Entry& user, const std::string& group_dn, Deadline deadline) const;
  Deadline deadline() const;
  std::chrono::milliseconds ttl(bool found) const;

  const Settings settings_;
  mutable Pool pool_;
  mutable TtlCache<std::vector<std::string>> values_;
  mutable TtlCache<bool> members_;
  mutable std::atomic<std::uint64_t> searches_{0};
};

}  // namespace postern::ldap
