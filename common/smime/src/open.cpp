// Decrypting and verifying: smime.hpp.
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "entity.hpp"
#include "postern/core/strings.hpp"
#include "postern/mime/address.hpp"
#include "postern/mime/transfer_encoding.hpp"
#include "postern/ossl/error.hpp"
#include "postern/ossl/memory_bio.hpp"
#include "postern/smime/canonical.hpp"
#include "postern/smime/smime.hpp"

namespace postern::smime {
namespace {

struct Stop {
  Failure failure;
  std::string detail;
};

[[noreturn]] void stop(Failure failure, std::string detail) { throw Stop{failure, std::move(detail)}; }

// The content ciphers a signer's SMIMECapabilities attribute (RFC 8551
// 2.5.2) lists, in its order of preference; others (digests, RC2, ...) are
// left out. Empty when the attribute is absent or unreadable.
std::vector<std::string> capabilities_of(CMS_SignerInfo* info) {
  static constexpr std::pair<int, const char*> kCiphers[] = {
      {NID_aes_256_gcm, "aes256-gcm"}, {NID_aes_192_gcm, "aes192-gcm"}, {NID_aes_128_gcm, "aes128-gcm"},
      {NID_aes_256_cbc, "aes256-cbc"}, {NID_aes_192_cbc, "aes192-cbc"}, {NID_aes_128_cbc, "aes128-cbc"},
      {NID_des_ede3_cbc, "des3-cbc"},
  };
  std::vector<std::string> out;
  const int at = CMS_signed_get_attr_by_NID(info, NID_SMIMECapabilities, -1);
  X509_ATTRIBUTE* attr = at < 0 ? nullptr : CMS_signed_get_attr(info, at);
  ASN1_TYPE* value = attr == nullptr ? nullptr : X509_ATTRIBUTE_get0_type(attr, 0);
  if (value == nullptr || value->type != V_ASN1_SEQUENCE || value->value.sequence == nullptr) return out;
  const unsigned char* p = value->value.sequence->data;
  X509_ALGORS* algs = d2i_X509_ALGORS(nullptr, &p, value->value.sequence->length);
  if (algs == nullptr) {
    ERR_clear_error();
    return out;
  }
  for (int i = 0; i < sk_X509_ALGOR_num(algs); ++i) {
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, sk_X509_ALGOR_value(algs, i));
    const int nid = OBJ_obj2nid(oid);
    for (const auto& [known, name] : kCiphers) {
      if (nid == known && std::find(out.begin(), out.end(), name) == out.end()) out.emplace_back(name);
    }
  }
  sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
  return out;
}

std::string queue_text(const char* what) {
  const std::string q = ossl::drain_errors();
  return q.empty() ? std::string(what) : std::string(what) + ": " + q;
}

// Empties the thread's error queue like queue_text(), and says whether it
// reported an algorithm that is not available (OpenSSL 3 fetch failures,
// ciphers CMS does not know).
std::string queue_text(const char* what, bool& unsupported) {
  std::string text = what;
  unsupported = false;
  bool first = true;
  for (unsigned long code = ERR_get_error(); code != 0; code = ERR_get_error()) {
    const int reason = ERR_GET_REASON(code);
    unsupported = unsupported || reason == ERR_R_UNSUPPORTED ||
                  (ERR_GET_LIB(code) == ERR_LIB_CMS &&
                   (reason == CMS_R_UNKNOWN_CIPHER || reason == CMS_R_UNSUPPORTED_CONTENT_ENCRYPTION_ALGORITHM ||
                    reason == CMS_R_UNSUPPORTED_KEK_ALGORITHM));
    const char* lib = ERR_lib_error_string(code);
    const char* why = ERR_reason_error_string(code);
    text += first ? ": " : "; ";
    first = false;
    if (lib != nullptr) text += std::string(lib) + ": ";
    text += why != nullptr ? why : "error " + std::to_string(reason);
  }
  return text;
}

// Straight from memory: d2i_CMS_bio would first copy the DER into a
// buffer it grows (and clears) step by step.
ossl::CmsPtr parse_cms(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms) stop(Failure::malformed, queue_text("not a CMS structure"));
  return cms;
}

std::string body_bytes(const mime::Part& part, std::string_view entity, std::size_t max_size) {
  if (part.body.size() > max_size) stop(Failure::too_large, "CMS body over the size limit");
  if (part.transfer_encoding == "base64") {
    std::optional<std::string> der = detail::decode_base64(part.body.of(entity));
    if (!der) stop(Failure::malformed, "damaged base64");
    return std::move(*der);
  }
  if (part.transfer_encoding == "7bit" || part.transfer_encoding == "8bit" || part.transfer_encoding == "binary") {
    return std::string(part.body.of(entity));
  }
  stop(Failure::unsupported, "transfer encoding " + part.transfer_encoding + " for CMS");
}

std::vector<std::string> certificate_addresses(X509* cert) {
  std::vector<std::string> out;
  ossl::GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_EMAIL) continue;
    const ASN1_IA5STRING* ia5 = name->d.rfc822Name;
    out.push_back(core::ascii_lower(
        std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ia5)),
                         static_cast<std::size_t>(ASN1_STRING_length(ia5)))));
  }
  const X509_NAME* subject = X509_get_subject_name(cert);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, i)) {
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    std::string address = core::ascii_lower(std::string_view(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)), static_cast<std::size_t>(ASN1_STRING_length(value))));
    bool known = false;
    for (const std::string& a : out) known = known || a == address;
    if (!known) out.push_back(std::move(address));
  }
  return out;
}

std::string subject_text(X509* cert) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

Verdict verdict_of(int error) {
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return Verdict::expired;
    case X509_V_ERR_CERT_REVOKED:
      return Verdict::revoked;
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
      return Verdict::wrong_usage;
    default:
      return Verdict::untrusted;
  }
}

// Chain, time and purpose of one signer certificate.
void check_chain(SignatureResult& result, X509* signer, STACK_OF(X509) * carried, const OpenOptions& options) {
  if (options.trust == nullptr) {
    result.verdict = Verdict::untrusted;
    result.reason = "no trust anchors given";
    return;
  }
  ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), options.trust, signer, carried) != 1) {
    result.verdict = Verdict::untrusted;
    result.reason = queue_text("X509_STORE_CTX_init");
    return;
  }
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SMIME_SIGN);
  if (options.at != 0) X509_STORE_CTX_set_time(ctx.get(), 0, options.at);
  if (X509_verify_cert(ctx.get()) == 1) {
    result.verdict = Verdict::valid;
    return;
  }
  const int error = X509_STORE_CTX_get_error(ctx.get());
  result.verdict = verdict_of(error);
  result.reason = X509_verify_cert_error_string(error);
  ERR_clear_error();
}

// Verifies `cms` (signed-data), over `detached` when it is a detached
// signature; returns the signed content.
std::string verify(CMS_ContentInfo* cms, const std::string* detached, const OpenOptions& options,
                   const std::string& from, SecurityStatus& status) {
  ossl::X509Stack carried(CMS_get1_certs(cms));
  if (!carried) carried = ossl::make_x509_stack();
  for (int i = 0; i < sk_X509_num(carried.get()); ++i) {
    status.certificates.push_back(ossl::share(sk_X509_value(carried.get(), i)));
  }
  std::string content;
  // The detached content behind a null filter: OpenSSL 3.0's CMS_verify
  // copies a memory BIO into a new one and leaks that copy when the
  // signature's digest set-up fails (found by the fuzzer).
  ossl::BioPtr dcont;
  if (detached != nullptr) {
    dcont.reset(BIO_new(BIO_f_null()));
    if (!dcont) throw ossl::Error("BIO_new(BIO_f_null)");
    BIO_push(dcont.get(), ossl::view_bio(*detached).release());
  }
  if (detached == nullptr) {
    const ASN1_OCTET_STRING* const* inner = CMS_get0_content(cms);
    if (inner != nullptr && *inner != nullptr) content.reserve(static_cast<std::size_t>(ASN1_STRING_length(*inner)));
  }
  ossl::BioPtr out = ossl::string_sink(content);
  const unsigned flags = CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY;
  const bool signature_ok = CMS_verify(cms, carried.get(), nullptr, dcont.get(), out.get(), flags) == 1;
  const std::string failure_text = signature_ok ? std::string() : queue_text("signature check failed");
  if (!signature_ok && detached == nullptr) {
    // The content of a damaged opaque signature, for the caller to show
    // with a warning; never treated as signed.
    content.clear();
    const ASN1_OCTET_STRING* const* inner = CMS_get0_content(cms);
    if (inner != nullptr && *inner != nullptr) {
      content.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(*inner)),
                     static_cast<std::size_t>(ASN1_STRING_length(*inner)));
    }
  }
  STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(cms);
  const int count = sk_CMS_SignerInfo_num(infos);
  if (count <= 0) stop(Failure::malformed, "signed-data without signer infos");
  for (int i = 0; i < count; ++i) {
    CMS_SignerInfo* info = sk_CMS_SignerInfo_value(infos, i);
    X509* signer = nullptr;
    CMS_SignerInfo_get0_algs(info, nullptr, &signer, nullptr, nullptr);
    if (signer == nullptr) {
      for (int j = 0; j < sk_X509_num(carried.get()) && signer == nullptr; ++j) {
        if (CMS_SignerInfo_cert_cmp(info, sk_X509_value(carried.get(), j)) == 0) signer = sk_X509_value(carried.get(), j);
      }
    }
    SignatureResult result;
    result.opaque = detached == nullptr;
    result.capabilities = capabilities_of(info);
    if (signer != nullptr) {
      result.signer = ossl::share(signer);
      result.signer_id = subject_text(signer);
      result.addresses = certificate_addresses(signer);
      for (const std::string& a : result.addresses) result.address_matches = result.address_matches || a == from;
    }
    if (!signature_ok || signer == nullptr) {
      result.verdict = Verdict::bad_signature;
      result.reason = signer == nullptr ? "signer certificate not in the message" : failure_text;
    } else {
      check_chain(result, signer, carried.get(), options);
    }
    status.signatures.push_back(std::move(result));
  }
  return content;
}

// True when a recipient info of `cms` names `cert` (issuer and serial or
// subject key identifier), for key transport and key agreement alike.
bool names_recipient(CMS_ContentInfo* cms, X509* cert) {
  STACK_OF(CMS_RecipientInfo)* infos = CMS_get0_RecipientInfos(cms);
  for (int i = 0; i < sk_CMS_RecipientInfo_num(infos); ++i) {
    CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(infos, i);
    switch (CMS_RecipientInfo_type(ri)) {
      case CMS_RECIPINFO_TRANS:
        if (CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0) return true;
        break;
      case CMS_RECIPINFO_AGREE: {
        STACK_OF(CMS_RecipientEncryptedKey)* keys = CMS_RecipientInfo_kari_get0_reks(ri);
        for (int j = 0; j < sk_CMS_RecipientEncryptedKey_num(keys); ++j) {
          if (CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(keys, j), cert) == 0) return true;
        }
        break;
      }
      default:
        break;
    }
  }
  return false;
}

std::string decrypt(const std::string& der, ossl::CmsPtr cms, const OpenOptions& options) {
  bool matched = false;
  std::string last_error = options.keys.empty() ? "no candidate key given" : "no recipient info names our certificates";
  for (std::size_t k = 0; k < options.keys.size(); ++k) {
    const Credential* key = options.keys[k];
    if (key == nullptr || !key->cert || !key->key) continue;
    if (!cms) cms = parse_cms(der);
    if (!names_recipient(cms.get(), key->cert.get())) continue;
    matched = true;
    std::string content;
    content.reserve(der.size());
    ossl::BioPtr out = ossl::string_sink(content);
    if (CMS_decrypt(cms.get(), key->key.get(), key->cert.get(), nullptr, out.get(), CMS_BINARY) == 1) {
      if (content.size() > options.max_size) stop(Failure::too_large, "decrypted content over the size limit");
      return content;
    }
    bool unsupported = false;
    last_error = queue_text("CMS_decrypt", unsupported);
    if (unsupported) stop(Failure::unsupported, last_error);
    cms.reset();  // a failed attempt may leave state behind: parse afresh
  }
  stop(matched ? Failure::decrypt_failed : Failure::no_key, last_error);
}

std::string from_address(std::string_view message, const OpenOptions& options) {
  if (!options.from_address.empty()) return core::ascii_lower(options.from_address);
  try {
    const mime::HeaderBlock block = mime::HeaderBlock::parse(message, options.limits.headers);
    const mime::Header* from = block.find("From");
    if (from == nullptr) return {};
    const std::vector<mime::Mailbox> boxes = mime::parse_address_list(from->raw_value);
    if (boxes.size() != 1) return {};
    return core::ascii_lower(boxes.front().local_part + "@" + boxes.front().domain_ascii());
  } catch (const std::exception&) {
    return {};
  }
}

std::string open_one(std::string_view entity, const OpenOptions& options, const std::string& from,
                     SecurityStatus& status) {
  if (entity.size() > options.max_size) stop(Failure::too_large, "message over the size limit");
  mime::Part root;
  try {
    root = mime::parse_message(entity, options.limits);
  } catch (const mime::LimitError& e) {
    stop(Failure::too_large, e.what());
  }
  const mime::ContentType& type = root.content_type;
  if (type.is("application", "pkcs7-mime") || type.is("application", "x-pkcs7-mime")) {
    const std::string der = body_bytes(root, entity, options.max_size);
    ossl::CmsPtr cms = parse_cms(der);
    switch (OBJ_obj2nid(CMS_get0_type(cms.get()))) {
      case NID_pkcs7_enveloped:
        status.encrypted = true;
        return decrypt(der, std::move(cms), options);
      case NID_id_smime_ct_authEnvelopedData:
        status.encrypted = true;
        status.authenticated_encryption = true;
        return decrypt(der, std::move(cms), options);
      case NID_pkcs7_signed:
        return verify(cms.get(), nullptr, options, from, status);
      default:
        stop(Failure::unsupported, "CMS content type not handled (compressed or other)");
    }
  }
  if (type.is("multipart", "signed")) {
    const std::string* protocol = type.param("protocol");
    if (protocol == nullptr || !(core::iequals(*protocol, "application/pkcs7-signature") ||
                                 core::iequals(*protocol, "application/x-pkcs7-signature"))) {
      stop(Failure::unsupported, "multipart/signed with another protocol");
    }
    if (root.children.size() != 2) stop(Failure::malformed, "multipart/signed without exactly two parts");
    const std::string der = body_bytes(root.children[1], entity, options.max_size);
    ossl::CmsPtr cms = parse_cms(der);
    if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) stop(Failure::malformed, "signature is not signed-data");
    if (!CMS_is_detached(cms.get())) stop(Failure::malformed, "multipart/signed with an opaque signature");
    // The signed bytes are the first part as CRLF text (RFC 8551 §3.1.1):
    // a copy that lost its CRs on the way still verifies.
    const std::string content = to_crlf(root.children[0].whole().of(entity));
    verify(cms.get(), &content, options, from, status);
    return content;
  }
  stop(Failure::not_protected, "neither signed nor encrypted");
}

bool has_hp(std::string_view entity) {
  const mime::HeaderBlock block = mime::HeaderBlock::parse(entity);
  const mime::Header* field = block.find("Content-Type");
  if (field == nullptr) return false;
  const std::optional<mime::ContentType> type = mime::ContentType::parse(field->raw_value);
  return type && (type->param("hp") != nullptr || type->param("protected-headers") != nullptr);
}

// The outer fields with the protected copies from `protected_source` (the
// innermost entity) in place of theirs, then `inner`'s Content-* fields and
// body.
std::string restore(std::string_view message, std::string_view inner, std::string_view protected_source, bool hp) {
  const mime::HeaderBlock outer_block = mime::HeaderBlock::parse(message);
  const mime::HeaderBlock inner_block = mime::HeaderBlock::parse(inner);
  std::vector<mime::Header> outer;
  std::vector<mime::Header> content;
  std::vector<mime::Header> protected_fields;
  for (const mime::Header& field : inner_block.fields()) {
    if (detail::is_content_field(field.name)) content.push_back(field);
  }
  if (hp) {
    const mime::HeaderBlock source_block = mime::HeaderBlock::parse(protected_source);
    for (const mime::Header& field : source_block.fields()) {
      if (!detail::is_content_field(field.name) && !core::iequals(field.name, "HP-Outer")) {
        protected_fields.push_back(field);
      }
    }
  }
  for (const mime::Header& field : outer_block.fields()) {
    if (detail::is_content_field(field.name)) continue;
    bool replaced = false;
    for (const mime::Header& p : protected_fields) replaced = replaced || core::iequals(p.name, field.name);
    if (!replaced) outer.push_back(field);
  }
  std::string out;
  out.reserve(inner.size() + 4096);
  detail::append_fields(out, outer);
  detail::append_fields(out, protected_fields);
  detail::append_fields(out, content);
  out += "\r\n";
  out += inner.substr(inner_block.consumed());
  return out;
}

// One layer with every failure turned into the status.
std::string open_layer(std::string_view entity, const OpenOptions& options, const std::string& from,
                       SecurityStatus& status) {
  try {
    std::string inner = open_one(entity, options, from, status);
    ++status.layers;
    return inner;
  } catch (const Stop& s) {
    status.failure = s.failure;
    status.detail = s.detail;
  } catch (const ossl::Error& e) {
    status.failure = Failure::internal;
    status.detail = e.what();
  } catch (const mime::LimitError& e) {
    status.failure = Failure::too_large;
    status.detail = e.what();
  }
  return {};
}

}  // namespace

std::string open_entity(std::string_view entity, const OpenOptions& options, SecurityStatus& status) {
  return open_layer(entity, options, from_address(entity, options), status);
}

Opened open_message(std::string_view message, const OpenOptions& options) {
  Opened opened;
  SecurityStatus& status = opened.status;
  // The outer From (or the caller's address) is what every layer's
  // signer must match.
  const std::string from = from_address(message, options);
  std::string current;
  bool opened_any = false;
  // keep_signed_layers: the signed entity to deliver; "" for none, and
  // `kept_is_message` when it is the message as it came.
  std::string kept;
  bool kept_is_message = false;
  for (;;) {
    const std::string_view view = opened_any ? std::string_view(current) : message;
    SecurityStatus step;
    std::string inner = open_layer(view, options, from, step);
    if (options.keep_signed_layers && step.failure == Failure::none) {
      if (step.encrypted) {
        kept.clear();
        kept_is_message = false;
      } else if (!step.signatures.empty() && kept.empty() && !kept_is_message) {
        if (opened_any) {
          kept = current;
        } else {
          kept_is_message = true;
        }
      }
    }
    for (SignatureResult& sig : step.signatures) status.signatures.push_back(std::move(sig));
    for (ossl::X509Ptr& cert : step.certificates) status.certificates.push_back(std::move(cert));
    status.encrypted = status.encrypted || step.encrypted;
    status.authenticated_encryption = status.authenticated_encryption || step.authenticated_encryption;
    if (step.failure == Failure::not_protected && opened_any) break;
    if (step.failure == Failure::none && status.layers >= static_cast<int>(options.max_layers)) {
      step.failure = Failure::too_large;
      step.detail = "more protection layers than allowed";
    }
    if (step.failure != Failure::none) {
      status.failure = step.failure;
      status.detail = step.detail;
      opened.message.assign(message);
      return opened;
    }
    ++status.layers;
    opened_any = true;
    current = std::move(inner);
  }
  try {
    status.header_protection = has_hp(current);
    if (kept_is_message) {
      opened.message.assign(message);
    } else {
      opened.message = restore(message, kept.empty() ? std::string_view(current) : std::string_view(kept), current,
                               status.header_protection);
    }
  } catch (const mime::LimitError& e) {
    status.failure = Failure::too_large;
    status.detail = e.what();
    opened.message.assign(message);
  }
  return opened;
}

}  // namespace postern::smime
