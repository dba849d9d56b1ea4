#include "postern/ossl/certificate.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>
#include <cstring>

#include "postern/core/strings.hpp"

namespace postern::ossl {
namespace {

BioPtr read_bio(std::string_view bytes) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX)) throw Error("input too large");
  BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (!bio) throw Error("BIO_new_mem_buf");
  return bio;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

BioPtr write_bio() {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) throw Error("BIO_new");
  return bio;
}

std::time_t to_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return 0;
  }
  return timegm(&tm);
}

std::string hex(const unsigned char* p, unsigned int n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 0x0f];
  }
  return out;
}

// An address as the certificate carries it, when it is one: printable
// ASCII, one '@' with text on both sides.
std::optional<std::string> email_of(const ASN1_STRING* s) {
  if (s == nullptr) return std::nullopt;
  const auto* data = ASN1_STRING_get0_data(s);
  const int len = ASN1_STRING_length(s);
  if (data == nullptr || len <= 2 || len > 320) return std::nullopt;
  std::string text(reinterpret_cast<const char*>(data), static_cast<std::size_t>(len));
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return std::nullopt;
  }
  const auto at = text.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == text.size()) return std::nullopt;
  return text;
}

std::string name_text(const X509_NAME* name) {
  BioPtr bio = write_bio();
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) throw Error("X509_NAME_print_ex");
  return bio_text(bio.get());
}

}  // namespace

bool looks_like_pem(std::string_view bytes) noexcept { return bytes.find("-----BEGIN ") != std::string_view::npos; }

std::vector<X509CrlPtr> read_crls(std::string_view bytes) {
  std::vector<X509CrlPtr> out;
  if (looks_like_pem(bytes)) {
    BioPtr bio = read_bio(bytes);
    while (X509CrlPtr crl{PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)}) out.push_back(std::move(crl));
    ERR_clear_error();
    if (out.empty() && bytes.find("X509 CRL-----") != std::string_view::npos) throw Error("malformed PEM CRL");
    return out;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() > static_cast<std::size_t>(LONG_MAX)) throw Error("input too large");
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size())));
  if (!crl || p != reinterpret_cast<const unsigned char*>(bytes.data()) + bytes.size()) {
    ERR_clear_error();
    return out;
  }
  out.push_back(std::move(crl));
  return out;
}

bool looks_like_pkcs12(std::string_view bytes) {
  if (bytes.empty() || bytes.size() > static_cast<std::size_t>(LONG_MAX)) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(bytes.size())));
  ERR_clear_error();
  return p12 != nullptr;
}

bool pkcs12_password_fits(std::string_view der, const std::string& password) {
  if (der.size() > static_cast<std::size_t>(LONG_MAX)) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkcs12Ptr p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())));
  if (!p12) {
    ERR_clear_error();
    return false;
  }
  bool fits = PKCS12_mac_present(p12.get()) != 1 ||
              PKCS12_verify_mac(p12.get(), password.c_str(), static_cast<int>(password.size())) == 1;
  // An empty password may also have been "no password" (a null pointer).
  if (!fits && password.empty()) fits = PKCS12_verify_mac(p12.get(), nullptr, 0) == 1;
  ERR_clear_error();
  return fits;
}

bool has_private_key_block(std::string_view bytes) noexcept {
  return looks_like_pem(bytes) && bytes.find("PRIVATE KEY-----") != std::string_view::npos;
}

std::string to_pem(X509* cert) {
  BioPtr bio = write_bio();
  if (PEM_write_bio_X509(bio.get(), cert) != 1) throw Error("PEM_write_bio_X509");
  return bio_text(bio.get());
}

std::string to_pem(X509_CRL* crl) {
  BioPtr bio = write_bio();
  if (PEM_write_bio_X509_CRL(bio.get(), crl) != 1) throw Error("PEM_write_bio_X509_CRL");
  return bio_text(bio.get());
}

std::string to_der(X509* cert) {
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  if (n <= 0) throw Error("i2d_X509");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string private_key_to_pem(EVP_PKEY* key) {
  BioPtr bio = write_bio();
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw Error("PEM_write_bio_PrivateKey");
  }
  return bio_text(bio.get());
}

std::vector<std::string> certificate_emails(X509* cert) {
  std::vector<std::string> out;
  auto add = [&out](std::optional<std::string> e) {
    if (!e) return;
    for (const auto& have : out) {
      if (same_address(have, *e)) return;
    }
    out.push_back(std::move(*e));
  };
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type == GEN_EMAIL) add(email_of(n->d.rfc822Name));
  }
  const X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, i)) >= 0;) {
    add(email_of(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i))));
  }
  ERR_clear_error();
  return out;
}

bool same_address(std::string_view a, std::string_view b) noexcept { return core::iequals(a, b); }

bool has_email(X509* cert, std::string_view address) {
  for (const auto& e : certificate_emails(cert)) {
    if (same_address(e, address)) return true;
  }
  return false;
}

bool key_usage_allows(X509* cert, Purpose purpose) {
  const uint32_t ku = X509_get_key_usage(cert);  // UINT32_MAX when absent
  if (purpose == Purpose::encrypt) {
    const EVP_PKEY* pub = X509_get0_pubkey(cert);
    const bool ec = pub != nullptr && EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC;
    if ((ku & (ec ? KU_KEY_AGREEMENT : KU_KEY_ENCIPHERMENT)) == 0) return false;
  } else if ((ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
    return false;
  }
  const uint32_t xku = X509_get_extended_key_usage(cert);  // UINT32_MAX when absent
  return (xku & (XKU_SMIME | XKU_ANYEKU)) != 0;
}

bool is_ca(X509* cert) { return X509_check_ca(cert) != 0; }

bool is_self_signed(X509* cert) {
  const bool yes = X509_self_signed(cert, 0) == 1;
  ERR_clear_error();
  return yes;
}

bool key_matches(X509* cert, EVP_PKEY* key) {
  const bool yes = X509_check_private_key(cert, key) == 1;
  ERR_clear_error();
  return yes;
}

std::string sha256_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1) throw Error("X509_digest");
  return hex(md, n);
}

std::string sha256_fingerprint(X509_CRL* crl) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_CRL_digest(crl, EVP_sha256(), md, &n) != 1) throw Error("X509_CRL_digest");
  return hex(md, n);
}

std::string subject_text(X509* cert) { return name_text(X509_get_subject_name(cert)); }
std::string issuer_text(X509* cert) { return name_text(X509_get_issuer_name(cert)); }

std::string serial_text(X509* cert) {
  core::CUnique<BIGNUM, &BN_free> bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) throw Error("ASN1_INTEGER_to_BN");
  char* text = BN_bn2hex(bn.get());
  if (text == nullptr) throw Error("BN_bn2hex");
  std::string out = core::ascii_lower(text);
  OPENSSL_free(text);
  return out;
}

std::time_t not_before(X509* cert) { return to_time(X509_get0_notBefore(cert)); }
std::time_t not_after(X509* cert) { return to_time(X509_get0_notAfter(cert)); }

std::string utc_text(std::time_t t) {
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace postern::ossl
