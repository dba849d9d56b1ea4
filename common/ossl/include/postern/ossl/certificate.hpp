// NAME
//   certificate - reading certificates, keys and CRLs, and what a certificate says
// SUMMARY
//   std::vector<ossl::X509CrlPtr> crls = ossl::read_crls(bytes);        // PEM or DER
//   for (auto& e : ossl::certificate_emails(cert)) ...
//   if (!ossl::key_usage_allows(cert, ossl::Purpose::encrypt)) ...
//   std::string fp = ossl::sha256_fingerprint(cert);                   // 64 lowercase hex digits
// DESCRIPTION
//   The few questions Postern asks of an X.509 certificate, answered with
//   OpenSSL 3, and the pieces of file handling pem_der.hpp leaves out: CRLs,
//   telling PEM, DER and PKCS#12 apart, and a wrong PKCS#12 password apart
//   from a damaged file.
//   The e-mail addresses of a certificate are the rfc822Name entries of its
//   subjectAltName and the emailAddress attributes of its subject, in that
//   order, without duplicates (compared case-insensitively).
//   Key usage: a certificate without a keyUsage extension allows every use;
//   with one, encryption needs keyEncipherment (RSA) or keyAgreement (EC),
//   signing needs digitalSignature or nonRepudiation. Extended key usage:
//   absent, or containing emailProtection (anyExtendedKeyUsage is accepted
//   too, as OpenSSL's S/MIME purpose does).
// DIAGNOSTICS
//   Malformed input throws ossl::Error with OpenSSL's reasons (never the
//   data itself).
// THREADS
//   Free functions over objects the caller owns; certificates that are
//   only read may be shared between threads.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/ossl/error.hpp"
#include "postern/ossl/handles.hpp"

namespace postern::ossl {

// Whether the bytes look like PEM (a "-----BEGIN " line somewhere).
bool looks_like_pem(std::string_view bytes) noexcept;
// Every CRL of a PEM text, or the one CRL of a DER blob; empty when none.
// (Certificates, keys and PKCS#12: pem_der.hpp.)
std::vector<X509CrlPtr> read_crls(std::string_view bytes);
// Whether the bytes parse as a PKCS#12 structure (DER).
bool looks_like_pkcs12(std::string_view bytes);
// Whether `password` opens the PKCS#12 file (its MAC verifies; true when it
// has no MAC). Tells a wrong password apart from a damaged file.
bool pkcs12_password_fits(std::string_view der, const std::string& password);
// Whether a PEM text holds a private key block (encrypted or not).
bool has_private_key_block(std::string_view bytes) noexcept;

std::string to_pem(X509* cert);
std::string to_pem(X509_CRL* crl);
std::string to_der(X509* cert);
// PKCS#8, unencrypted: only for files of mode 0600.
std::string private_key_to_pem(EVP_PKEY* key);

// The addresses a certificate is issued for (see DESCRIPTION).
std::vector<std::string> certificate_emails(X509* cert);
// "user@example.org" == "User@Example.ORG": ASCII case-insensitive.
bool same_address(std::string_view a, std::string_view b) noexcept;
bool has_email(X509* cert, std::string_view address);

enum class Purpose { encrypt, sign };
// keyUsage and extendedKeyUsage allow the purpose (see DESCRIPTION).
bool key_usage_allows(X509* cert, Purpose purpose);
bool is_ca(X509* cert);
bool is_self_signed(X509* cert);
// Whether `key` is the private key of `cert`.
bool key_matches(X509* cert, EVP_PKEY* key);

std::string sha256_fingerprint(X509* cert);  // 64 lowercase hex digits
std::string sha256_fingerprint(X509_CRL* crl);
std::string subject_text(X509* cert);  // RFC 2253 one line
std::string issuer_text(X509* cert);
std::string serial_text(X509* cert);  // hex
std::time_t not_before(X509* cert);
std::time_t not_after(X509* cert);
// "2026-11-24T23:10:00Z"
std::string utc_text(std::time_t t);

}  // namespace postern::ossl
