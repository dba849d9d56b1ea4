// NAME
//   handles - RAII owners of OpenLDAP client handles
// SUMMARY
//   LdapHandle ld = ...;          // ldap_unbind_ext_s on destruction
//   Message res = ...;            // ldap_msgfree
//   BerValues vals(ldap_get_values_len(ld.get(), entry, "mail"));
// DESCRIPTION
//   Every LDAP*, LDAPMessage*, BerElement*, berval** and string that libldap
//   hands out is owned by one of these, so no path leaks or double-frees.
// THREADS
//   As std::unique_ptr. An LDAP* is used by one thread at a time (the pool
//   lends each connection to one caller).
#pragma once

#include <ldap.h>

#include "postern/core/c_unique.hpp"

namespace postern::ldap {

namespace detail {
inline void unbind(LDAP* ld) noexcept { ::ldap_unbind_ext_s(ld, nullptr, nullptr); }
inline void free_ber(BerElement* ber) noexcept { ::ber_free(ber, 0); }
inline void free_values(berval** values) noexcept { ::ldap_value_free_len(values); }
inline void free_string(char* s) noexcept { ::ldap_memfree(s); }
}  // namespace detail

using LdapHandle = core::CUnique<LDAP, &detail::unbind>;
using Message = core::CUnique<LDAPMessage, &::ldap_msgfree>;
using Ber = core::CUnique<BerElement, &detail::free_ber>;
using BerValues = core::CUnique<berval*, &detail::free_values>;
using LdapString = core::CUnique<char, &detail::free_string>;

}  // namespace postern::ldap
