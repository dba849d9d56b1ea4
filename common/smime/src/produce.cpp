// Signing and encrypting: smime.hpp.
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <exception>
#include <initializer_list>

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

// A detached signature's multipart/signed entity without the signed
// entity itself: what goes before it and what follows it (the signature).
struct DetachedParts {
  std::string head;
  std::string tail;
};

DetachedParts sign_detached(const std::string& entity, const Credential& signer, const SignOptions& options) {
  check_credential(signer);
  const unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_DETACHED;
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
  if (CMS_final(cms.get(), in.get(), nullptr, flags) != 1) fail(Failure::internal, "CMS_final");
  std::string signature;
  detail::append_cms_base64(signature, cms.get(), nullptr, 0);
  std::string boundary = detail::random_boundary();
  while (entity.find(boundary) != std::string::npos) boundary = detail::random_boundary();
  DetachedParts parts;
  parts.head = "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;\r\n boundary=\"";
  parts.head += boundary;
  parts.head += "\"\r\n\r\nThis is a cryptographically signed message in MIME format.\r\n\r\n--";
  parts.head += boundary;
  parts.head += "\r\n";
  parts.tail.reserve(signature.size() + 512);
  parts.tail += "\r\n--";
  parts.tail += boundary;
  parts.tail +=
      "\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
      "Content-Description: S/MIME Cryptographic Signature\r\n\r\n";
  parts.tail += signature;
  parts.tail += "--";
  parts.tail += boundary;
  parts.tail += "--\r\n";
  return parts;
}

// Appends the signed entity to `out`.
void sign_entity(std::string& out, const std::string& entity, const Credential& signer, const SignOptions& options) {
  if (options.format == SignFormat::detached) {
    const DetachedParts parts = sign_detached(entity, signer, options);
    out.reserve(out.size() + parts.head.size() + entity.size() + parts.tail.size());
    out += parts.head;
    out += entity;
    out += parts.tail;
    return;
  }
  check_credential(signer);
  const unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_STREAM;
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
  out.reserve(out.size() + detail::base64_size(entity.size() + entity.size() / 256 + 8192 +
                                               1024 * signer.chain.size()) + 512);
  out +=
      "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n";
  detail::append_cms_base64(out, cms.get(), in.get(), static_cast<int>(flags));
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

// Where produced output goes: appended to a string (pre-sized), or handed
// to the caller's sink piece by piece.
class Output {
 public:
  explicit Output(std::string& text) : text_(&text) {}
  explicit Output(const Sink& sink) : sink_(&sink) {}

  void reserve(std::size_t more) {
    if (text_ != nullptr) text_->reserve(text_->size() + more);
  }
  void put(std::string_view bytes) {
    if (text_ != nullptr) {
      text_->append(bytes);
    } else {
      (*sink_)(bytes);
    }
  }
  // A BIO writing into this output with CRLF line ends. A sink's exception
  // is kept (the BIO write fails) and rethrown by rethrow().
  ossl::BioPtr bio() {
    if (text_ != nullptr) return ossl::string_sink(*text_, ossl::LineBreaks::crlf);
    return ossl::callback_sink(
        [this](std::string_view bytes) {
          try {
            (*sink_)(bytes);
            return true;
          } catch (...) {
            error_ = std::current_exception();
            return false;
          }
        },
        ossl::LineBreaks::crlf);
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::string* text_ = nullptr;
  const Sink* sink_ = nullptr;
  std::exception_ptr error_;
};

// Writes the encrypted entity to `out`; its content is `content`, in order.
// The content is streamed through the cipher and out as base64
// (BIO_new_CMS, what i2d_CMS_bio_stream does with one input).
void encrypt_entity(Output& out, std::initializer_list<std::string_view> content,
                    const std::vector<X509*>& recipients, const EncryptOptions& options) {
  if (recipients.empty()) throw Error(Failure::bad_input, "no recipient certificate");
  const bool gcm = options.cipher == ContentCipher::aes256_gcm;
  const unsigned flags = CMS_BINARY | CMS_PARTIAL | CMS_STREAM;
  ossl::CmsPtr cms(CMS_encrypt(nullptr, nullptr, gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc(), flags));
  if (!cms) fail(Failure::internal, "CMS_encrypt");
  for (X509* cert : recipients) add_recipient(cms.get(), cert, options, flags);
  std::size_t size = 0;
  for (std::string_view piece : content) size += piece.size();
  // DER: the content plus its padding, chunk headers and recipient infos.
  out.reserve(detail::base64_size(size + size / 256 + 1024 * (recipients.size() + 4)) + 512);
  out.put(gcm ? "Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name=\"smime.p7m\"\r\n"
              : "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"\r\n");
  out.put(
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n");
  ossl::BioPtr b64 = ossl::base64_filter(out.bio());
  BIO* stream = BIO_new_CMS(b64.get(), cms.get());
  if (stream == nullptr) {
    out.rethrow();
    fail(Failure::internal, "BIO_new_CMS");
  }
  bool ok = true;
  constexpr std::size_t kStep = std::size_t{1} << 20;
  for (std::string_view piece : content) {
    while (ok && !piece.empty()) {
      const int n = static_cast<int>(std::min(piece.size(), kStep));
      ok = BIO_write(stream, piece.data(), n) == n;
      piece.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  ok = ok && BIO_flush(stream) == 1;
  // The streaming BIOs sit on b64: free them down to it.
  while (stream != nullptr && stream != b64.get()) {
    BIO* next = BIO_pop(stream);
    BIO_free(stream);
    stream = next;
  }
  ok = ok && BIO_flush(b64.get()) == 1;
  out.rethrow();
  if (!ok) fail(Failure::internal, "writing CMS");
}

void sign_and_encrypt(Output& out, std::string_view message, const Credential& signer,
                      const std::vector<X509*>& recipients, const SignOptions& sign_options,
                      const EncryptOptions& encrypt_options) {
  if (recipients.empty()) throw Error(Failure::bad_input, "no recipient certificate");
  detail::Split split = detail::split_message(message);
  const HeaderProtection& hp = encrypt_options.header_protection;
  const Hp mode = hp.enabled ? Hp::cipher : Hp::none;
  if (sign_options.format == SignFormat::opaque) {
    std::string signed_entity;
    {
      const std::string entity = prepare_entity(message, split, mode, hp);
      sign_entity(signed_entity, entity, signer, sign_options);
    }
    out.put(detail::outer_fields(split.outer));
    encrypt_entity(out, {signed_entity}, recipients, encrypt_options);
    return;
  }
  // Detached: the signed entity is never put together; its three pieces
  // go through the cipher one after the other.
  const std::string entity = prepare_entity(message, split, mode, hp);
  const DetachedParts parts = sign_detached(entity, signer, sign_options);
  out.put(detail::outer_fields(split.outer));
  encrypt_entity(out, {parts.head, entity, parts.tail}, recipients, encrypt_options);
}

void encrypt(Output& out, std::string_view message, const std::vector<X509*>& recipients,
             const EncryptOptions& options) {
  if (recipients.empty()) throw Error(Failure::bad_input, "no recipient certificate");
  detail::Split split = detail::split_message(message);
  const HeaderProtection& hp = options.header_protection;
  const std::string entity = prepare_entity(message, split, hp.enabled ? Hp::cipher : Hp::none, hp);
  out.put(detail::outer_fields(split.outer));
  encrypt_entity(out, {entity}, recipients, options);
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
  std::string text;
  Output out(text);
  encrypt(out, message, recipients, options);
  return text;
}

void encrypt_message_to(const Sink& sink, std::string_view message, const std::vector<X509*>& recipients,
                        const EncryptOptions& options) {
  Output out(sink);
  encrypt(out, message, recipients, options);
}

std::string sign_and_encrypt_message(std::string_view message, const Credential& signer,
                                     const std::vector<X509*>& recipients, const SignOptions& sign_options,
                                     const EncryptOptions& encrypt_options) {
  std::string text;
  Output out(text);
  sign_and_encrypt(out, message, signer, recipients, sign_options, encrypt_options);
  return text;
}

void sign_and_encrypt_message_to(const Sink& sink, std::string_view message, const Credential& signer,
                                 const std::vector<X509*>& recipients, const SignOptions& sign_options,
                                 const EncryptOptions& encrypt_options) {
  Output out(sink);
  sign_and_encrypt(out, message, signer, recipients, sign_options, encrypt_options);
}

}  // namespace postern::smime
