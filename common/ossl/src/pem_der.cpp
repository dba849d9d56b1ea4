#include "postern/ossl/pem_der.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "postern/ossl/error.hpp"
#include "postern/ossl/memory_bio.hpp"

namespace postern::ossl {
namespace {

bool looks_like_pem(std::string_view bytes) { return bytes.find("-----BEGIN ") != std::string_view::npos; }

int passphrase_cb(char* buf, int size, int /*rwflag*/, void* user) {
  const auto* pass = static_cast<const std::string*>(user);
  if (pass == nullptr || size <= 0) return 0;
  const auto n = std::min(pass->size(), static_cast<std::size_t>(size));
  pass->copy(buf, n);
  return static_cast<int>(n);
}

}  // namespace

std::vector<X509Ptr> read_certificates(std::string_view bytes) {
  std::vector<X509Ptr> out;
  BioPtr bio = view_bio(bytes);
  if (looks_like_pem(bytes)) {
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(cert);
    ERR_clear_error();  // the read past the last block
  } else if (X509* cert = d2i_X509_bio(bio.get(), nullptr)) {
    out.emplace_back(cert);
  }
  if (out.empty()) throw Error("no certificate in the data");
  return out;
}

PkeyPtr read_private_key(std::string_view bytes, const std::string& passphrase) {
  BioPtr bio = view_bio(bytes);
  auto* user = const_cast<std::string*>(&passphrase);
  EVP_PKEY* key = looks_like_pem(bytes) ? PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, user)
                                        : d2i_PrivateKey_bio(bio.get(), nullptr);
  if (key == nullptr) throw Error("no readable private key in the data");
  return PkeyPtr(key);
}

Pkcs12Contents read_pkcs12(std::string_view der, const std::string& password) {
  BioPtr bio = view_bio(der);
  Pkcs12Ptr p12(d2i_PKCS12_bio(bio.get(), nullptr));
  if (!p12) throw Error("not a PKCS#12 file");
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  if (PKCS12_parse(p12.get(), password.c_str(), &key, &cert, &ca) != 1) throw Error("PKCS12_parse");
  Pkcs12Contents out;
  out.key.reset(key);
  out.cert.reset(cert);
  X509Stack chain(ca);
  while (chain && sk_X509_num(chain.get()) > 0) out.chain.emplace_back(sk_X509_shift(chain.get()));
  return out;
}

}  // namespace postern::ossl
