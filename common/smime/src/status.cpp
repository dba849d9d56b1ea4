#include "postern/smime/status.hpp"

namespace postern::smime {

const char* to_string(Failure failure) noexcept {
  switch (failure) {
    case Failure::none: return "none";
    case Failure::not_protected: return "not-protected";
    case Failure::malformed: return "malformed";
    case Failure::too_large: return "too-large";
    case Failure::unsupported: return "unsupported";
    case Failure::no_key: return "no-key";
    case Failure::decrypt_failed: return "decrypt-failed";
    case Failure::bad_input: return "bad-input";
    case Failure::bad_credentials: return "bad-credentials";
    case Failure::internal: return "internal";
  }
  return "unknown";
}

const char* to_string(Verdict verdict) noexcept {
  switch (verdict) {
    case Verdict::valid: return "valid";
    case Verdict::bad_signature: return "bad-signature";
    case Verdict::untrusted: return "untrusted";
    case Verdict::expired: return "expired";
    case Verdict::revoked: return "revoked";
    case Verdict::wrong_usage: return "wrong-usage";
  }
  return "unknown";
}

bool SecurityStatus::all_signatures_good() const noexcept {
  if (signatures.empty()) return false;
  for (const SignatureResult& sig : signatures) {
    if (sig.verdict != Verdict::valid || !sig.address_matches) return false;
  }
  return true;
}

}  // namespace postern::smime
