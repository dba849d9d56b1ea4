// NAME
//   fake_lookups - in-memory Directory and KeyFinder for policy tests and the bench
// SUMMARY
//   auto dir = std::make_shared<FakeDirectory>();
//   dir->groups["alice@example.org"] = {"cn=staff,dc=example,dc=org"};
//   dir->fail_with = "timeout";   // every lookup fails
// DESCRIPTION
//   Stand-ins for common/ldap and common/keystore (which have their own
//   tests against slapd and real key stores): answers from maps, counts
//   the questions, and can fail every lookup to exercise tempfail.
// THREADS
//   Not thread-safe (the counters); one test at a time.
#pragma once

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "postern/lookup/directory.hpp"
#include "postern/lookup/keys.hpp"

namespace postern::policy::testing {

class FakeDirectory final : public lookup::Directory {
 public:
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> groups;  // address -> group DNs
  std::map<std::string, std::map<std::string, std::vector<std::string>, std::less<>>, std::less<>> attributes;  // address -> attr -> values
  std::string fail_with;  // non-empty: every lookup fails with this
  mutable std::atomic<int> questions{0};

  lookup::Lookup<std::vector<std::string>> attribute(std::string_view address, std::string_view name) const override {
    ++questions;
    using R = lookup::Lookup<std::vector<std::string>>;
    if (!fail_with.empty()) return R::failure(fail_with);
    const auto e = attributes.find(address);
    if (e == attributes.end()) return R::answer({});
    const auto a = e->second.find(name);
    return R::answer(a == e->second.end() ? std::vector<std::string>{} : a->second);
  }
  lookup::Lookup<bool> member_of(std::string_view address, std::string_view group) const override {
    ++questions;
    if (!fail_with.empty()) return lookup::Lookup<bool>::failure(fail_with);
    const auto e = groups.find(address);
    return lookup::Lookup<bool>::answer(e != groups.end() && e->second.find(group) != e->second.end());
  }
};

class FakeKeys final : public lookup::KeyFinder {
 public:
  std::map<std::string, std::set<lookup::KeyKind>, std::less<>> keys;
  std::string fail_with;

  lookup::Lookup<bool> has_usable_key(std::string_view address, lookup::KeyKind kind) const override {
    if (!fail_with.empty()) return lookup::Lookup<bool>::failure(fail_with);
    const auto k = keys.find(address);
    return lookup::Lookup<bool>::answer(k != keys.end() && k->second.count(kind) > 0);
  }
};

}  // namespace postern::policy::testing
