// NAME
//   status - what opening a protected message found: the vocabulary shared
//   by the S/MIME and (later) OpenPGP backends
// SUMMARY
//   Opened opened = smime::open_message(message, options);
//   if (opened.status.failure != Failure::none) log(to_string(opened.status.failure));
//   for (const SignatureResult& sig : opened.status.signatures)
//     if (sig.verdict == Verdict::valid && sig.address_matches) ...
// DESCRIPTION
//   SecurityStatus says which layers were removed (decrypted, signature
//   checked), whether the encryption was authenticated, every signature with its verdict and the
//   reason when it is not valid, and the certificates the message carried
//   (for a key store to harvest, after its own checks). Failure names why a
//   message could not be opened or produced at all; a bad signature is not a
//   Failure but a SignatureResult whose verdict is not valid. The names are
//   backend neutral: an OpenPGP backend fills the same structure
//   (certificates stay empty, fingerprints go in signer_id).
// THREADS
//   Values; certificates are shared read-only (X509_up_ref).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "postern/ossl/handles.hpp"

namespace postern::smime {

enum class Failure {
  none,
  not_protected,       // neither signed nor encrypted: nothing to open
  malformed,           // damaged MIME, base64 or CMS structure
  too_large,           // over a configured size or nesting limit
  unsupported,         // an algorithm or CMS content type we do not handle
  no_key,              // encrypted for nobody whose key we were given
  decrypt_failed,      // our recipient info, but the key or the data is wrong
  bad_input,           // a message we cannot sign or encrypt faithfully
  bad_credentials,     // certificate or key unusable (no key, mismatch)
  internal,            // OpenSSL failed where it should not
};

const char* to_string(Failure failure) noexcept;

enum class Verdict {
  valid,             // signature, chain, time, usage all fine
  bad_signature,     // the content or the signature was altered
  untrusted,         // no chain to the given trust anchors
  expired,           // a certificate of the chain is out of its validity
  revoked,           // a CRL the caller put into the store lists it
  wrong_usage,       // keyUsage / extendedKeyUsage forbid e-mail signing
};

const char* to_string(Verdict verdict) noexcept;

struct SignatureResult {
  Verdict verdict = Verdict::bad_signature;
  std::string reason;                  // OpenSSL's text when not valid; safe to log
  std::string signer_id;               // subject DN of the signer certificate
  std::vector<std::string> addresses;  // e-mail addresses of the signer certificate, lowercase
  bool address_matches = false;        // one of them is the From address
  ossl::X509Ptr signer;                // the signer certificate
  bool opaque = false;                 // signed-data (pkcs7-mime) rather than multipart/signed
  // The content ciphers the signer's SMIMECapabilities attribute lists, in
  // its order: "aes256-gcm", "aes192-gcm", "aes128-gcm", "aes256-cbc",
  // "aes192-cbc", "aes128-cbc", "des3-cbc" (others are left out). Empty
  // when the attribute is absent. Only to be believed when verdict is valid.
  std::vector<std::string> capabilities;
};

struct SecurityStatus {
  Failure failure = Failure::none;
  std::string detail;  // why, when failure != none; never message content

  bool encrypted = false;
  bool authenticated_encryption = false;  // AuthEnvelopedData (AES-GCM)
  std::vector<SignatureResult> signatures;
  std::vector<ossl::X509Ptr> certificates;  // every certificate the signed layers carried
  bool header_protection = false;           // RFC 9788 inner headers were found and restored
  int layers = 0;                           // protection layers removed

  bool is_signed() const noexcept { return !signatures.empty(); }
  // Every signature valid and from the From address.
  bool all_signatures_good() const noexcept;
};

// What sign_message / encrypt_message throw.
class Error : public std::runtime_error {
 public:
  Error(Failure failure, const std::string& what) : std::runtime_error(what), failure_(failure) {}
  Failure failure() const noexcept { return failure_; }

 private:
  Failure failure_;
};

}  // namespace postern::smime
