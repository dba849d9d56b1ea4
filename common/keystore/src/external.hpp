// NAME
//   external - certificates an external source (LDAP) answered, as candidates
// DESCRIPTION
//   Internal to postern_keystore. external_certificates() reads each value
//   the source gave for an address: one DER X.509 certificate
//   (userCertificate;binary), PEM certificates, or a DER PKCS#7 / CMS
//   SignedData blob (userSMIMECertificate, usually certs-only). Every
//   non-CA certificate of a value that carries the address becomes a
//   candidate on the certs shelf, with the value's other certificates as
//   its `extra` chain helpers; a value with none that carries the address,
//   or that cannot be read, becomes a Rejection ("not issued to the
//   address", "unreadable certificate data"). Nothing is written anywhere.
// THREADS
//   Reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "snapshot.hpp"

namespace postern::keystore {

std::vector<StoredCertificate> external_certificates(const std::vector<std::string>& values, std::string_view address,
                                                     std::vector<Rejection>& rejected);

}  // namespace postern::keystore
