// NAME
//   directory - what the policy asks of the organisation's directory
// SUMMARY
//   std::shared_ptr<const Directory> dir = ...;   // common/ldap implements it
//   Lookup<std::vector<std::string>> v = dir->attribute("a@example.org", "department");
//   Lookup<bool> m = dir->member_of("a@example.org", "cn=crypto-users,ou=groups,dc=example,dc=org");
// DESCRIPTION
//   Addresses are given in policy::normalize_address() form (local@domain,
//   lowercased, A-label domain). An address without a directory entry
//   answers an empty list / false; only a failure to ask is a failure.
//   `group` is whatever the implementation's configuration names a group by
//   (a DN or a configured short name); implementations document which.
//   Implementations cache, bound their time by their own timeout, and are
//   called from many milter threads at once.
// THREADS
//   Implementations must be safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "postern/lookup/result.hpp"

namespace postern::lookup {

class Directory {
 public:
  virtual ~Directory() = default;
  // Every value of `attribute` on the entry of `address` (attribute names
  // compare case-insensitively, as in LDAP).
  virtual Lookup<std::vector<std::string>> attribute(std::string_view address, std::string_view attribute) const = 0;
  // Whether the entry of `address` is a member of `group`.
  virtual Lookup<bool> member_of(std::string_view address, std::string_view group) const = 0;
};

}  // namespace postern::lookup
