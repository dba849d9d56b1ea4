// Signing and encrypting: smime.hpp.
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <array>

#include "entity.hpp"
#include "postern/core/strings.hpp"
#include "postern/ossl/error.hpp"
#include "postern/ossl/memory_bio.hpp"
#include "postern/smime/canonical.hpp"
#include "postern/smime/smime.hpp"

namespace postern::smime {
namespace {

// RFC 9788 header fields copied into the protected entity.
constexpr std::array<std::string_view, 12> kProtectedFields = {
    "Subject", "From", "Sender", "To", "Cc", "Date", "Message-ID", "Reply-To", "In-Reply-To", "References",
    "Keywords", "Comments"};

bool is_protected_field(std::string_view name) {
  for (std::string_view p : kProtectedFields) {
    if (core::iequals(p, name)) return true;
  }
  return false;
}

enum class Hp { none, clear, cipher };

[[noreturn]] void fail(Failure failure, const std::string& what) { throw Error(failure, ossl::Error(what).what()); }

// The canonical entity to protect: the message's body with the content
// fields (and, with header protection, the protected copies) as its header.
// Changes split.outer where header protection hides the Subject.
std::string prepare_entity(std::string_view message, detail::Split& split, Hp hp,
                           const HeaderProtection& protection) {
  const char* hp_param = hp == Hp::cipher ? "; hp=\"cipher\"" : "; hp=\"clear\"";
  std::vector<mime::Header> fields;
  if (hp != Hp::none) {
    std::vector<mime::Header> outer_view;
    for (mime::Header& field : split.outer) {
      if (!is_protected_field(field.name)) continue;
      fields.push_back(field);
      if (hp != Hp::cipher) continue;
      if (core::iequals(field.name, "Subject")) field.raw_value = " " + protection.placeholder_subject;
      mime::Header outer;
      outer.name = "HP-Outer";
      outer.raw_value = " " + field.name + ":" + field.raw_value;
      outer_view.push_back(std::move(outer));
    }
    fields.insert(fields.end(), outer_view.begin(), outer_view.end());
  }
  bool has_type = false;
  for (const mime::Header& field : split.content) {
    fields.push_back(field);
    if (core::iequals(field.name, "Content-Type")) {
      has_type = true;
      if (hp != Hp::none) fields.back().raw_value += hp_param;
    }
  }
  if (!has_type) {
    mime::Header type;
    type.name = "Content-Type";
    type.raw_value = std::string(" text/plain; charset=us-ascii") + (hp != Hp::none ? hp_param : "");
    fields.push_back(std::move(type));
  }
  std::string entity;
  entity.reserve(split.body.size() + split.body.size() / 16 + 4096);
  try {
    append_canonical(entity, message, fields);
  } catch (const mime::LimitError& e) {
    throw Error(Failure::too_large, e.what());
  }
  return entity;
}

void check_credential(const Credential& signer) {
  if (!signer.cert || !signer.key) throw Error(Failure::bad_credentials, "signer certificate or key missing");
  if (X509_check_private_key(signer.cert.get(), signer.key.get()) != 1) {
    fail(Failure::bad_credentials, "the signer key does not belong to the certificate");
  }
}

// Appends the signed entity to `out`.
void sign_entity(std::string& out, const std::string& entity, const Credential& signer, const SignOptions& options) {
  check_credential(signer);
  const bool detached = options.format == SignFormat::detached;
  const unsigned flags = CMS_BINARY | CMS_PARTIAL | (detached ? CMS_DETACHED : CMS_STREAM);
  ossl::CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
  if (!cms) fail(Failure::internal, "CMS_sign");
  if (CMS_add1_signer(cms.get(), signer.cert.get(), signer.key.get(), EVP_sha256(), flags) == nullptr) {
    fail(Failure::bad_credentials, "CMS_add1_signer");
  }
  if (options.include_chain) {
    for (const ossl::X509Ptr& cert : signer.chain) {
      if (cert && CMS_add1_cert(cms.get(), cert.get()) != 1) fail(Failure::internal, "CMS_add1_cert");
    }
  }
  ossl::BioPtr in = ossl::view_bio(entity);
  if (!detached) {
    out.reserve(out.size() + detail::base64_size(entity.size() + entity.size() / 256 + 8192 +
                                                 1024 * signer.chain.size()) + 512);
    out +=
        "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n";
    detail::append_cms_base64(out, cms.get(), in.get(), static_cast<int>(flags));
    return;
  }
  if (CMS_final(cms.get(), in.get(), nullptr, flags) != 1) fail(Failure::internal, "CMS_final");
  std::string signature;
  detail::append_cms_base64(signature, cms.get(), nullptr, 0);
  std::string boundary = detail::random_boundary();
  while (entity.find(boundary) != std::string::npos) boundary = detail::random_boundary();
  out.reserve(out.size() + entity.size() + signature.size() + 1024);
  out += "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;\r\n boundary=\"";
  out += boundary;
  out += "\"\r\n\r\nThis is a cryptographically signed message in MIME format.\r\n\r\n--";
  out += boundary;
  out += "\r\n";
  out += entity;
  out += "\r\n--";
  out += boundary;
  out +=
      "\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
      "Content-Description: S/MIME Cryptographic Signature\r\n\r\n";
  out += signature;
  out += "--";
  out += boundary;
  out += "--\r\n";
}

void add_recipient(CMS_ContentInfo* cms, X509* cert, const EncryptOptions& options, unsigned flags) {
  EVP_PKEY* key = cert != nullptr ? X509_get0_pubkey(cert) : nullptr;
  if (key == nullptr) fail(Failure::bad_credentials, "recipient certificate without a usable public key");
  const int type = EVP_PKEY_get_base_id(key);
  const bool oaep = options.rsa_padding == RsaPadding::oaep && type == EVP_PKEY_RSA;
  const bool ecdh = type == EVP_PKEY_EC;
  CMS_RecipientInfo* ri = CMS_add1_recipient_cert(cms, cert, flags | (oaep || ecdh ? CMS_KEY_PARAM : 0U));
  if (ri == nullptr) fail(Failure::bad_credentials, "CMS_add1_recipient_cert");
  EVP_PKEY_CTX* ctx = oaep || ecdh ? CMS_RecipientInfo_get0_pkey_ctx(ri) : nullptr;
  if (oaep && (ctx == nullptr || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
               EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
               EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0)) {
    fail(Failure::internal, "RSA-OAEP parameters");
  }
  // dhSinglePass-stdDH-sha256kdf-scheme (RFC 5753) instead of OpenSSL's
  // SHA-1 KDF default.
  if (ecdh && (ctx == nullptr || EVP_PKEY_CTX_set_ecdh_kdf_md(ctx, EVP_sha256()) <= 0)) {
    fail(Failure::internal, "ECDH KDF parameters");
  }
}

// Appends the encrypted entity to `out`.
void encrypt_entity(std::string& out, const std::string& entity, const std::vector<X509*>& recipients,
                    const EncryptOptions& options) {
  if (recipients.empty()) throw Error(Failure::bad_input, "no recipient certificate");
  const bool gcm = options.cipher == ContentCipher::aes256_gcm;
  const unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_STREAM;
  ossl::CmsPtr cms(CMS_encrypt(nullptr, nullptr, gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc(), flags));
  if (!cms) fail(Failure::internal, "CMS_encrypt");
  for (X509* cert : recipients) add_recipient(cms.get(), cert, options, flags);
  ossl::BioPtr in = ossl::view_bio(entity);
  // DER: the content plus its padding, chunk headers and recipient infos.
  out.reserve(out.size() + detail::base64_size(entity.size() + entity.size() / 256 + 1024 * (recipients.size() + 4)) +
              512);
  out += gcm ? "Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name=\"smime.p7m\"\r\n"
             : "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"\r\n";
  out +=
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n";
  detail::append_cms_base64(out, cms.get(), in.get(), static_cast<int>(flags));
}

}  // namespace

std::string sign_message(std::string_view message, const Credential& signer, const SignOptions& options) {
  detail::Split split = detail::split_message(message);
  const HeaderProtection& hp = options.header_protection;
  const std::string entity = prepare_entity(message, split, hp.enabled ? Hp::clear : Hp::none, hp);
  std::string out = detail::outer_fields(split.outer);
  sign_entity(out, entity, signer, options);
  return out;
}

std::string encrypt_message(std::string_view message, const std::vector<X509*>& recipients,
                            const EncryptOptions& options) {
  detail::Split split = detail::split_message(message);
  const HeaderProtection& hp = options.header_protection;
  const std::string entity = prepare_entity(message, split, hp.enabled ? Hp::cipher : Hp::none, hp);
  std::string out = detail::outer_fields(split.outer);
  encrypt_entity(out, entity, recipients, options);
  return out;
}

std::string sign_and_encrypt_message(std::string_view message, const Credential& signer,
                                     const std::vector<X509*>& recipients, const SignOptions& sign_options,
                                     const EncryptOptions& encrypt_options) {
  detail::Split split = detail::split_message(message);
  const HeaderProtection& hp = encrypt_options.header_protection;
  std::string signed_entity;
  {
    const std::string entity = prepare_entity(message, split, hp.enabled ? Hp::cipher : Hp::none, hp);
    sign_entity(signed_entity, entity, signer, sign_options);
  }
  std::string out = detail::outer_fields(split.outer);
  encrypt_entity(out, signed_entity, recipients, encrypt_options);
  return out;
}

}  // namespace postern::smime
