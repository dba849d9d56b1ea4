// NAME
//   pem_der - certificates and private keys from PEM, DER or PKCS#12 bytes
// SUMMARY
//   std::vector<ossl::X509Ptr> certs = ossl::read_certificates(pem_bytes);
//   ossl::PkeyPtr key = ossl::read_private_key(pem_bytes);
//   ossl::Pkcs12Contents p12 = ossl::read_pkcs12(der, "password");
// DESCRIPTION
//   read_certificates() takes every CERTIFICATE block of a PEM text, or one
//   DER certificate when the bytes do not look like PEM. read_private_key()
//   takes the first private key of a PEM text (PKCS#8, encrypted PKCS#8 with
//   `passphrase`, or the traditional RSA/EC forms) or DER PKCS#8.
//   read_pkcs12() opens a DER PKCS#12 file (use the PEM-armoured form's
//   base64 decoded). Nothing here reads files: callers pass the bytes.
// THREADS
//   Reentrant.
// DIAGNOSTICS
//   ossl::Error when the bytes hold no certificate / key or cannot be
//   decrypted; the message names the step, never key material.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "postern/ossl/handles.hpp"

namespace postern::ossl {

std::vector<X509Ptr> read_certificates(std::string_view bytes);
PkeyPtr read_private_key(std::string_view bytes, const std::string& passphrase = {});

struct Pkcs12Contents {
  PkeyPtr key;
  X509Ptr cert;
  std::vector<X509Ptr> chain;  // the other certificates in the file
};
Pkcs12Contents read_pkcs12(std::string_view der, const std::string& password);

}  // namespace postern::ossl
