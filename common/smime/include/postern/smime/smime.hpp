// NAME
//   smime - sign, encrypt, decrypt and verify whole messages (RFC 8551)
// SUMMARY
//   smime::Credential me = ...;                      // cert + key + chain
//   std::string out = smime::sign_message(message, me, {});
//   out = smime::encrypt_message(out, {bob_cert, carol_cert}, {});
//   smime::Opened opened = smime::open_message(out, {.keys = {&bob}, .trust = store});
// DESCRIPTION
//   Every function takes and returns a whole RFC 5322 message. The outer
//   header fields (From, To, Subject, Received, ...) stay outside; the
//   protected entity is the MIME entity: the Content-* fields and the body,
//   canonicalised first (canonical.hpp).
//
//   sign_message: multipart/signed with a detached signature (default) or
//   application/pkcs7-mime; smime-type=signed-data (opaque). SHA-256, the
//   signer's chain and SMIMECapabilities included.
//
//   encrypt_message: EnvelopedData with AES-256-CBC (default, what Outlook
//   and NSS open) or AuthEnvelopedData with AES-256-GCM; one recipient info
//   per certificate: RSA keys get key transport (PKCS#1 v1.5 by default,
//   OAEP with SHA-256 on request), EC keys ECDH key agreement. The sender's
//   own certificate belongs in the recipient list when the sent copy must be
//   readable. sign_and_encrypt_message signs first, then encrypts.
//
//   encrypt_message_to and sign_and_encrypt_message_to make the same bytes
//   but hand them to a Sink piece by piece as the cipher produces them,
//   instead of returning one string: a caller that spools them (the
//   milter, for large mail) never holds the output whole. With a detached
//   signature the signed entity is not put together either; what stays in
//   memory is the canonical entity. When they throw, the sink may have had
//   part of the output.
//
//   Header protection (RFC 9788) when HeaderProtection::enabled: the inner
//   entity carries copies of the protected header fields and hp="cipher"
//   (or hp="clear" when only signing), and an encrypted message's outer
//   Subject becomes the placeholder.
//
//   open_message removes layers until the content is neither signed nor
//   encrypted (at most max_layers): decrypts with the first candidate key
//   whose certificate a recipient info names, verifies signatures against
//   the caller's trust store (X509_STORE: anchors, CRLs and flags are the
//   caller's revocation hook; no OCSP here), at the time `at` or now, with
//   the S/MIME signing purpose (keyUsage, extendedKeyUsage
//   emailProtection), and compares the signer's addresses with From.
//   The result keeps the outer header fields and restores protected ones.
// THREADS
//   Reentrant; the credentials and the store may be shared between threads.
// DIAGNOSTICS
//   sign/encrypt throw smime::Error (status.hpp); the *_to functions also
//   pass on what the sink throws. open_message never throws
//   on bad input: the status says what failed (std::bad_alloc aside).
#pragma once

#include <cstddef>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/mime/part.hpp"
#include "postern/ossl/handles.hpp"
#include "postern/smime/status.hpp"

namespace postern::smime {

struct Credential {
  ossl::X509Ptr cert;
  ossl::PkeyPtr key;
  std::vector<ossl::X509Ptr> chain;  // intermediates to send with signatures
};

enum class SignFormat { detached, opaque };
enum class ContentCipher { aes256_cbc, aes256_gcm };
enum class RsaPadding { pkcs1v15, oaep };

struct HeaderProtection {
  bool enabled = false;
  std::string placeholder_subject = "[...]";  // RFC 9788's recommended value
};

struct SignOptions {
  SignFormat format = SignFormat::detached;
  bool include_chain = true;
  HeaderProtection header_protection;
};

struct EncryptOptions {
  ContentCipher cipher = ContentCipher::aes256_cbc;
  RsaPadding rsa_padding = RsaPadding::pkcs1v15;
  HeaderProtection header_protection;
};

std::string sign_message(std::string_view message, const Credential& signer, const SignOptions& options = {});
std::string encrypt_message(std::string_view message, const std::vector<X509*>& recipients,
                            const EncryptOptions& options = {});
std::string sign_and_encrypt_message(std::string_view message, const Credential& signer,
                                     const std::vector<X509*>& recipients, const SignOptions& sign_options = {},
                                     const EncryptOptions& encrypt_options = {});

// Receives produced output, in order; may throw to stop.
using Sink = std::function<void(std::string_view)>;
void encrypt_message_to(const Sink& out, std::string_view message, const std::vector<X509*>& recipients,
                        const EncryptOptions& options = {});
void sign_and_encrypt_message_to(const Sink& out, std::string_view message, const Credential& signer,
                                 const std::vector<X509*>& recipients, const SignOptions& sign_options = {},
                                 const EncryptOptions& encrypt_options = {});

struct OpenOptions {
  std::vector<const Credential*> keys;  // candidate decryption keys, tried in order
  X509_STORE* trust = nullptr;          // trust anchors (+ CRLs, flags); nullptr: every signature untrusted
  std::time_t at = 0;                   // verification time; 0 = now
  std::string from_address;             // "" = the From header's address
  std::size_t max_layers = 4;
  std::size_t max_size = std::size_t{64} << 20;  // bytes of input and of each decrypted layer
  mime::MimeLimits limits{.max_depth = 50, .max_parts = 5000, .headers = {}};
  // Keep signed layers in the result: the message delivered is the first
  // signed entity below every encryption layer (signatures are still
  // verified), so the reader's client can check the signature too. A signed
  // layer that wraps an encrypted one is removed (decryption comes first).
  // RFC 9788 protected header fields still come from the innermost entity.
  bool keep_signed_layers = false;
};

struct Opened {
  std::string message;  // the opened message; the input when nothing could be opened
  SecurityStatus status;
};

Opened open_message(std::string_view message, const OpenOptions& options);

// One layer, for callers (and tests) that look at each step: `entity` is a
// MIME entity (Content-* header fields and body); returns the entity inside
// it and adds what it found to `status`. Failure::not_protected when the
// entity is neither signed nor encrypted.
std::string open_entity(std::string_view entity, const OpenOptions& options, SecurityStatus& status);

}  // namespace postern::smime
