#include "postern/crypto/security_header.hpp"

namespace postern::crypto {

std::string safe_text(std::string_view text, std::size_t limit) {
  std::string out;
  for (unsigned char c : text) {
    if (out.size() >= limit) break;
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') continue;
    out += static_cast<char>(c);
  }
  return out;
}

std::string verdict_word(smime::Verdict verdict) {
  std::string word = smime::to_string(verdict);
  for (char& c : word) {
    if (c == '_') c = '-';
  }
  return word;
}

std::string security_value(const smime::SecurityStatus& status) {
  using smime::Failure;
  const bool failed = status.failure != Failure::none && status.failure != Failure::not_protected;
  // On any failure open_message returns the input: an encrypted message
  // stays encrypted, even when its outer layer was decrypted.
  const bool not_decrypted = failed && (status.encrypted || status.failure == Failure::no_key ||
                                        status.failure == Failure::decrypt_failed);
  std::string out = " encryption=";
  if (status.encrypted && !failed) {
    out += status.authenticated_encryption ? "decrypted-authenticated" : "decrypted";
  } else if (not_decrypted) {
    out += "not-decrypted";
  } else {
    out += "none";
  }
  std::string reason;
  if (failed) reason = status.detail.empty() ? smime::to_string(status.failure) : status.detail;

  out += "; signature=";
  if (!status.is_signed()) {
    out += not_decrypted ? "not-checked" : "none";
  } else {
    const smime::SignatureResult* shown = &status.signatures.front();
    for (const auto& sig : status.signatures) {
      if (sig.verdict != smime::Verdict::valid) {
        shown = &sig;
        break;
      }
    }
    out += verdict_word(shown->verdict);
    out += "; signer=";
    out += shown->addresses.empty() ? std::string("unknown") : safe_text(shown->addresses.front(), 254);
    out += "; from-match=";
    out += shown->address_matches ? "yes" : "no";
    if (shown->verdict != smime::Verdict::valid && reason.empty()) {
      reason = shown->reason.empty() ? verdict_word(shown->verdict) : shown->reason;
    }
  }
  if (failed) {
    std::string name = smime::to_string(status.failure);
    for (char& c : name) {
      if (c == '_') c = '-';
    }
    out += "; error=" + name;
  }
  if (!reason.empty()) {
    out += "; reason=\"" + safe_text(reason) + "\"";
  }
  return out;
}

}  // namespace postern::crypto
