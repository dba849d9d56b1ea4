// NAME
//   settings - how Postern reaches the organisation's LDAP directory
// SUMMARY
//   config::Schema s("postern-policy", "...");
//   ldap::declare_keys(s);                       // the ldap: section
//   ldap::Settings ls = ldap::settings_from(cfg);
//   if (ls.enabled()) dir = std::make_shared<ldap::Directory>(ls);
// DESCRIPTION
//   declare_keys() declares every key of the `ldap:` section (and its
//   `ldap.cache` subsection) with common/config's schema, so the keys are
//   validated and documented like every other key; settings_from() turns a
//   loaded configuration into Settings and checks what a schema cannot: the
//   URI schemes, a user filter with a %s placeholder, StartTLS not combined
//   with ldaps://, the membership styles, the group map.
//   An empty `uris` list means no directory: enabled() is false.
//
//   Membership styles (any combination, tried in the order given):
//     memberOf   the user entry lists the group's DN in memberOf
//                (slapd's memberof overlay, Active Directory)
//     member     the group entry lists the user's DN in member or uniqueMember
//                (groupOfNames, groupOfUniqueNames)
//     memberUid  the group entry lists the user's member_uid_attribute value
//                (posixGroup, RFC 2307)
//   A group is named by its DN, by a short name from `groups`
//   ("staff=cn=staff,ou=groups,dc=example,dc=org"), or by a name that
//   group_filter finds under group_base.
// DIAGNOSTICS
//   settings_from() throws core::ConfigError at the offending key.
// THREADS
//   Settings is a value.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "postern/config/config.hpp"
#include "postern/config/schema.hpp"

namespace postern::ldap {

enum class Membership { member_of, member, member_uid };

const char* to_string(Membership m) noexcept;

struct Settings {
  std::vector<std::string> uris;   // ldap://host:port, ldaps://..., ldapi://...; tried in order
  std::string base_dn;             // where users are searched (subtree)
  std::string bind_dn;             // empty: anonymous
  std::string bind_password_file;  // read at each (re)connect; must not be readable by others
  bool starttls = false;           // StartTLS on ldap:// (required, never opportunistic)
  std::string ca_file;             // CAs that sign the server certificate (empty: the system's)
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds operation_timeout{3000};  // bounds a whole lookup, waits included
  std::size_t pool_size = 4;
  std::chrono::milliseconds cache_positive_ttl{std::chrono::minutes(5)};
  std::chrono::milliseconds cache_negative_ttl{std::chrono::minutes(1)};
  std::size_t cache_entries = 10000;
  std::string user_filter = "(|(mail=%s)(mailAlternateAddress=%s))";  // %s: the escaped address
  std::vector<Membership> membership{Membership::member_of, Membership::member};
  std::string member_uid_attribute = "uid";
  std::map<std::string, std::string> groups;  // short name -> DN
  std::string group_base;                     // empty: base_dn
  std::string group_filter;                   // e.g. (&(objectClass=groupOfNames)(cn=%s)); empty: none

  bool enabled() const noexcept { return !uris.empty(); }
};

// Declares the section `prefix` (default "ldap") and its keys.
void declare_keys(config::Schema& schema, std::string_view prefix = "ldap");

// Reads the keys declare_keys() declared under the same prefix.
Settings settings_from(const config::Config& config, std::string_view prefix = "ldap");

}  // namespace postern::ldap
