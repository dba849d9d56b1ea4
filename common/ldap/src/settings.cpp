#include "postern/ldap/settings.hpp"

#include <string>

#include "postern/core/error.hpp"
#include "postern/core/strings.hpp"

namespace postern::ldap {
namespace {

std::string join(std::string_view prefix, std::string_view key) {
  return std::string(prefix) + "." + std::string(key);
}

[[noreturn]] void refuse(const config::Config& c, const std::string& path, const std::string& why) {
  throw core::ConfigError(c.where(path), path + ": " + why);
}

void check_template(const config::Config& c, const std::string& path, bool required) {
  const std::string& t = c.get_string(path);
  if (t.empty()) {
    if (required) {
      refuse(c, path, "must not be empty");
    }
    return;
  }
  if (t.find("%s") == std::string::npos) {
    refuse(c, path, "needs a %s placeholder for the value looked up");
  }
  if (t.front() != '(' || t.back() != ')') {
    refuse(c, path, "an LDAP filter is written in parentheses: (attr=%s)");
  }
  int depth = 0;
  for (char ch : t) {
    depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
    if (depth < 0) {
      break;
    }
  }
  if (depth != 0) {
    refuse(c, path, "parentheses do not balance");
  }
}

}  // namespace

const char* to_string(Membership m) noexcept {
  switch (m) {
    case Membership::member_of: return "memberOf";
    case Membership::member: return "member";
    case Membership::member_uid: return "memberUid";
  }
  return "?";
}

void declare_keys(config::Schema& s, std::string_view prefix) {
  using config::Type;
  const std::string p(prefix);
  s.section(p, "The LDAP directory: who a sender or recipient is, and which groups they are in");
  s.key({.path = join(p, "uris"),
         .type = Type::string_list,
         .doc = "servers as ldap://host[:port], ldaps://host[:port] or ldapi://; tried in order (empty: no "
                "directory)"});
  s.key({.path = join(p, "base_dn"), .type = Type::string, .doc = "where users are searched (subtree)"});
  s.key({.path = join(p, "bind_dn"), .type = Type::string, .doc = "DN to bind as (empty: anonymous)"});
  s.key({.path = join(p, "bind_password_file"),
         .type = Type::path,
         .doc = "file holding the bind password (one line; mode 0600 or 0640, never readable by others); "
                "read at each connect"});
  s.key({.path = join(p, "starttls"),
         .type = Type::boolean,
         .default_value = "false",
         .doc = "require StartTLS on ldap:// URIs (not with ldaps://)"});
  s.key({.path = join(p, "ca_file"),
         .type = Type::path,
         .doc = "PEM file of the CAs that sign the server certificate (empty: the system's CAs)"});
  s.key({.path = join(p, "connect_timeout"),
         .type = Type::duration,
         .default_value = "2s",
         .doc = "wait for a TCP connection to one server",
         .min = 100,
         .max = 60000});
  s.key({.path = join(p, "timeout"),
         .type = Type::duration,
         .default_value = "3s",
         .doc = "the longest one lookup may take, waiting for a free connection, connecting, binding and "
                "searching included; past it the lookup fails",
         .min = 100,
         .max = 60000});
  s.key({.path = join(p, "pool_size"),
         .type = Type::integer,
         .default_value = "4",
         .doc = "connections kept open and shared by the milter threads",
         .min = 1,
         .max = 64});
  s.key({.path = join(p, "user_filter"),
         .type = Type::string,
         .default_value = "'(|(mail=%s)(mailAlternateAddress=%s))'",
         .doc = "finds the entry of an address; every %s is replaced by the address, escaped (RFC 4515)"});
  s.key({.path = join(p, "membership"),
         .type = Type::string_list,
         .default_value = "[memberOf, member]",
         .doc = "how group membership is recorded, tried in order: memberOf (on the user entry), member "
                "(member/uniqueMember DNs on the group), memberUid (posixGroup)"});
  s.key({.path = join(p, "member_uid_attribute"),
         .type = Type::string,
         .default_value = "uid",
         .doc = "the user attribute whose value memberUid holds"});
  s.key({.path = join(p, "groups"),
         .type = Type::string_list,
         .doc = "short group names as NAME=DN, e.g. 'staff=cn=staff,ou=groups,dc=example,dc=org'"});
  s.key({.path = join(p, "group_base"),
         .type = Type::string,
         .doc = "where group_filter searches (empty: base_dn)"});
  s.key({.path = join(p, "group_filter"),
         .type = Type::string,
         .doc = "finds a group by a name that is neither a DN nor in groups, e.g. "
                "(&(objectClass=groupOfNames)(cn=%s)) (empty: such names are an error)"});
  const std::string cache = join(p, "cache");
  s.section(cache, "Answers kept in memory (failures are never kept)");
  s.key({.path = join(cache, "positive_ttl"),
         .type = Type::duration,
         .default_value = "5m",
         .doc = "keep an answer that found something this long (0: not at all)",
         .min = 0,
         .max = 86400000});
  s.key({.path = join(cache, "negative_ttl"),
         .type = Type::duration,
         .default_value = "1m",
         .doc = "keep an answer that found nothing (no entry, no value, not a member) this long",
         .min = 0,
         .max = 86400000});
  s.key({.path = join(cache, "entries"),
         .type = Type::integer,
         .default_value = "10000",
         .doc = "answers kept at most; the oldest go first",
         .min = 1,
         .max = 10000000});
}

Settings settings_from(const config::Config& c, std::string_view prefix) {
  const std::string p(prefix);
  Settings s;
  s.uris = c.get_list(join(p, "uris"));
  for (const auto& uri : s.uris) {
    if (!core::istarts_with(uri, "ldap://") && !core::istarts_with(uri, "ldaps://") &&
        !core::istarts_with(uri, "ldapi://")) {
      refuse(c, join(p, "uris"), "'" + core::escape_controls(uri) + "' is not an ldap://, ldaps:// or ldapi:// URI");
    }
    if (uri.find_first_of(" \t,") != std::string::npos) {
      refuse(c, join(p, "uris"), "one URI per list item, without spaces or commas");
    }
  }
  s.base_dn = c.get_string(join(p, "base_dn"));
  s.bind_dn = c.get_string(join(p, "bind_dn"));
  s.bind_password_file = c.get_string(join(p, "bind_password_file"));
  s.starttls = c.get_bool(join(p, "starttls"));
  s.ca_file = c.get_string(join(p, "ca_file"));
  s.connect_timeout = c.get_duration(join(p, "connect_timeout"));
  s.operation_timeout = c.get_duration(join(p, "timeout"));
  s.pool_size = static_cast<std::size_t>(c.get_int(join(p, "pool_size")));
  s.user_filter = c.get_string(join(p, "user_filter"));
  s.member_uid_attribute = c.get_string(join(p, "member_uid_attribute"));
  s.group_base = c.get_string(join(p, "group_base"));
  s.group_filter = c.get_string(join(p, "group_filter"));
  s.cache_positive_ttl = c.get_duration(join(p, "cache.positive_ttl"));
  s.cache_negative_ttl = c.get_duration(join(p, "cache.negative_ttl"));
  s.cache_entries = static_cast<std::size_t>(c.get_int(join(p, "cache.entries")));

  s.membership.clear();
  for (const auto& m : c.get_list(join(p, "membership"))) {
    if (m == "memberOf") {
      s.membership.push_back(Membership::member_of);
    } else if (m == "member") {
      s.membership.push_back(Membership::member);
    } else if (m == "memberUid") {
      s.membership.push_back(Membership::member_uid);
    } else {
      refuse(c, join(p, "membership"), "'" + core::escape_controls(m) + "' is not one of memberOf, member, memberUid");
    }
  }
  for (const auto& g : c.get_list(join(p, "groups"))) {
    const auto eq = g.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == g.size()) {
      refuse(c, join(p, "groups"), "'" + core::escape_controls(g) + "' is not NAME=DN");
    }
    if (!s.groups.emplace(g.substr(0, eq), g.substr(eq + 1)).second) {
      refuse(c, join(p, "groups"), "'" + core::escape_controls(g.substr(0, eq)) + "' is named twice");
    }
  }
  check_template(c, join(p, "user_filter"), true);
  check_template(c, join(p, "group_filter"), false);
  if (!s.enabled()) {
    return s;
  }
  if (s.base_dn.empty()) {
    refuse(c, join(p, "base_dn"), "is required when uris are given");
  }
  if (s.membership.empty()) {
    refuse(c, join(p, "membership"), "name at least one style");
  }
  if (!s.bind_dn.empty() && s.bind_password_file.empty()) {
    refuse(c, join(p, "bind_password_file"), "is required with bind_dn");
  }
  if (s.starttls) {
    for (const auto& uri : s.uris) {
      if (!core::istarts_with(uri, "ldap://")) {
        refuse(c, join(p, "starttls"), "StartTLS applies to ldap:// URIs only; ldaps:// is TLS already");
      }
    }
  }
  return s;
}

}  // namespace postern::ldap
