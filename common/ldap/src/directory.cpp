#include "postern/ldap/directory.hpp"

#include <signal.h>

#include <utility>

#include "postern/core/error.hpp"
#include "postern/core/strings.hpp"
#include "postern/ldap/filter.hpp"
#include "postern/ldap/password.hpp"

namespace postern::ldap {
namespace {

using lookup::Lookup;

constexpr char kSep = '\x1f';

std::string cache_key(char kind, std::string_view address, std::string_view what) {
  std::string key(1, kind);
  key += kSep;
  key += core::ascii_lower(address);
  key += kSep;
  key += core::ascii_lower(what);
  return key;
}

std::string normalized_dn(const std::string& dn) {
  char* out = nullptr;
  if (::ldap_dn_normalize(dn.c_str(), LDAP_DN_FORMAT_LDAP, &out, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
      out == nullptr) {
    return core::ascii_lower(dn);
  }
  const LdapString owned(out);
  return core::ascii_lower(owned.get());
}

template <typename T>
Lookup<T> failure(const Error& e) {
  return Lookup<T>::failure(e.reason);
}

}  // namespace

Directory::Directory(Settings settings, Clock clock)
    : settings_(std::move(settings)),
      pool_(settings_),
      values_(settings_.cache_entries, clock),
      members_(settings_.cache_entries, clock) {
  if (!settings_.enabled()) {
    throw core::ConfigError(core::Location{}, "ldap: no uris configured");
  }
  // libldap writes to sockets without MSG_NOSIGNAL: a server that went away
  // must fail the lookup, not kill the process. The milters ignore SIGPIPE
  // already (milter/program.cpp); other programs get the same here.
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    ::signal(SIGPIPE, SIG_IGN);
  }
  if (!settings_.bind_dn.empty()) {
    // Refuse a missing or world-readable password file at start-up; it is
    // read again at each connect.
    (void)read_password_file(settings_.bind_password_file);
  }
}

void Directory::clear_cache() const {
  values_.clear();
  members_.clear();
}

Deadline Directory::deadline() const { return std::chrono::steady_clock::now() + settings_.operation_timeout; }

std::chrono::milliseconds Directory::ttl(bool found) const {
  return found ? settings_.cache_positive_ttl : settings_.cache_negative_ttl;
}

Outcome<std::vector<Entry>> Directory::run(const Search& s, Deadline deadline) const {
  for (int attempt = 0;; ++attempt) {
    auto acquired = pool_.acquire(deadline);
    if (auto* e = std::get_if<Error>(&acquired)) {
      return std::move(*e);
    }
    auto& lease = std::get<Pool::Lease>(acquired);
    searches_.fetch_add(1);
    auto result = lease.get().search(s.base, s.scope, s.filter, s.attributes, s.size_limit, deadline);
    auto* e = std::get_if<Error>(&result);
    if (e == nullptr) {
      return result;
    }
    if (e->kind == Error::Kind::no_such_object) {
      return result;
    }
    lease.discard();
    if (e->kind == Error::Kind::down && !lease.fresh() && attempt == 0) {
      // The server went away under a pooled connection (restart, idle
      // timeout): its other idle connections are as stale as this one.
      pool_.drop_idle();
      continue;
    }
    return result;
  }
}

Outcome<std::optional<Entry>> Directory::user(std::string_view address, std::vector<std::string> attributes,
                                              Deadline deadline) const {
  if (attributes.empty()) {
    attributes.emplace_back("1.1");  // RFC 4511: no attributes
  }
  auto found = run(Search{settings_.base_dn, LDAP_SCOPE_SUBTREE, expand_filter(settings_.user_filter, address),
                          std::move(attributes), 2},
                   deadline);
  if (auto* e = std::get_if<Error>(&found)) {
    if (e->kind == Error::Kind::no_such_object) {
      e->reason = "ldap: base_dn does not exist";
    }
    return std::move(*e);
  }
  auto& entries = std::get<std::vector<Entry>>(found);
  if (entries.empty()) {
    return std::optional<Entry>();
  }
  if (entries.size() > 1) {
    return Error{Error::Kind::other, "ldap: more than one entry matches the address (ambiguous)"};
  }
  return std::optional<Entry>(std::move(entries.front()));
}

Outcome<std::string> Directory::group_dn(std::string_view group, Deadline deadline) const {
  if (const auto it = settings_.groups.find(std::string(group)); it != settings_.groups.end()) {
    return it->second;
  }
  if (group.find('=') != std::string_view::npos) {
    return std::string(group);
  }
  if (settings_.group_filter.empty()) {
    return Error{Error::Kind::other, "ldap: unknown group name (not in ldap.groups, and no ldap.group_filter)"};
  }
  const std::string& base = settings_.group_base.empty() ? settings_.base_dn : settings_.group_base;
  auto found =
      run(Search{base, LDAP_SCOPE_SUBTREE, expand_filter(settings_.group_filter, group), {"1.1"}, 2}, deadline);
  if (auto* e = std::get_if<Error>(&found)) {
    if (e->kind == Error::Kind::no_such_object) {
      e->reason = "ldap: group_base does not exist";
    }
    return std::move(*e);
  }
  auto& entries = std::get<std::vector<Entry>>(found);
  if (entries.size() > 1) {
    return Error{Error::Kind::other, "ldap: more than one group has this name (ambiguous)"};
  }
  return entries.empty() ? std::string() : entries.front().dn;
}

Outcome<bool> Directory::is_member(const Entry& user, const std::string& group, Deadline deadline) const {
  std::optional<Error> failed;
  auto ask = [&](const std::string& filter) -> bool {
    auto r = run(Search{group, LDAP_SCOPE_BASE, filter, {"1.1"}, 1}, deadline);
    if (auto* e = std::get_if<Error>(&r)) {
      if (e->kind != Error::Kind::no_such_object && !failed) {
        failed = std::move(*e);
      }
      return false;
    }
    return !std::get<std::vector<Entry>>(r).empty();
  };
  for (const Membership style : settings_.membership) {
    switch (style) {
      case Membership::member_of: {
        const std::string want = normalized_dn(group);
        for (const auto& dn : user.values("memberOf")) {
          if (normalized_dn(dn) == want) {
            return true;
          }
        }
        break;
      }
      case Membership::member: {
        const std::string dn = escape_filter_value(user.dn);
        if (ask("(|(member=" + dn + ")(uniqueMember=" + dn + "))")) {
          return true;
        }
        break;
      }
      case Membership::member_uid:
        for (const auto& uid : user.values(settings_.member_uid_attribute)) {
          if (ask("(memberUid=" + escape_filter_value(uid) + ")")) {
            return true;
          }
        }
        break;
    }
  }
  if (failed) {
    return std::move(*failed);
  }
  return false;
}

Lookup<std::vector<std::string>> Directory::attribute(std::string_view address, std::string_view attribute) const {
  if (!valid_attribute_name(attribute)) {
    return Lookup<std::vector<std::string>>::failure("ldap: not an attribute name");
  }
  const std::string key = cache_key('a', address, attribute);
  if (auto hit = values_.get(key)) {
    return Lookup<std::vector<std::string>>::answer(std::move(*hit));
  }
  auto found = user(address, {std::string(attribute)}, deadline());
  if (auto* e = std::get_if<Error>(&found)) {
    return failure<std::vector<std::string>>(*e);
  }
  const auto& entry = std::get<std::optional<Entry>>(found);
  std::vector<std::string> values = entry ? entry->values(attribute) : std::vector<std::string>();
  values_.put(key, values, ttl(!values.empty()));
  return Lookup<std::vector<std::string>>::answer(std::move(values));
}

Lookup<bool> Directory::member_of(std::string_view address, std::string_view group) const {
  const std::string key = cache_key('m', address, group);
  if (auto hit = members_.get(key)) {
    return Lookup<bool>::answer(*hit);
  }
  const Deadline until = deadline();
  auto dn = group_dn(group, until);
  if (auto* e = std::get_if<Error>(&dn)) {
    return failure<bool>(*e);
  }
  const std::string& group_dn = std::get<std::string>(dn);
  bool member = false;
  if (!group_dn.empty()) {
    std::vector<std::string> wanted;
    for (const Membership style : settings_.membership) {
      if (style == Membership::member_of) {
        wanted.emplace_back("memberOf");
      } else if (style == Membership::member_uid) {
        wanted.push_back(settings_.member_uid_attribute);
      }
    }
    auto found = user(address, std::move(wanted), until);
    if (auto* e = std::get_if<Error>(&found)) {
      return failure<bool>(*e);
    }
    if (const auto& entry = std::get<std::optional<Entry>>(found)) {
      auto answer = is_member(*entry, group_dn, until);
      if (auto* e = std::get_if<Error>(&answer)) {
        return failure<bool>(*e);
      }
      member = std::get<bool>(answer);
    }
  }
  members_.put(key, member, ttl(member));
  return Lookup<bool>::answer(member);
}

Lookup<std::vector<std::string>> Directory::certificates(std::string_view address) const {
  const std::string key = cache_key('c', address, "");
  if (auto hit = values_.get(key)) {
    return Lookup<std::vector<std::string>>::answer(std::move(*hit));
  }
  auto found = user(address, {"userCertificate;binary", "userSMIMECertificate"}, deadline());
  if (auto* e = std::get_if<Error>(&found)) {
    return failure<std::vector<std::string>>(*e);
  }
  std::vector<std::string> certs;
  if (const auto& entry = std::get<std::optional<Entry>>(found)) {
    certs = entry->values("userCertificate");
    for (auto& v : entry->values("userSMIMECertificate")) {
      certs.push_back(std::move(v));
    }
  }
  values_.put(key, certs, ttl(!certs.empty()));
  return Lookup<std::vector<std::string>>::answer(std::move(certs));
}

}  // namespace postern::ldap
