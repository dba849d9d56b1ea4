#include "postern/crypto/security_header.hpp"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "postern/core/strings.hpp"

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

namespace {

bool is_failure(const smime::SecurityStatus& status) {
  return status.failure != smime::Failure::none && status.failure != smime::Failure::not_protected;
}

// An RFC 8601 value: a token as it is, anything else as a quoted string.
std::string ar_value(std::string_view text) {
  const std::string safe = safe_text(text, 254);
  const bool token = !safe.empty() && safe.find_first_of(" ;()<>,\"\\[]:=") == std::string::npos;
  return token ? safe : "\"" + safe + "\"";
}

std::string serial_hex(X509* cert) {
  if (cert == nullptr) return {};
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (bn == nullptr) return {};
  char* hex = BN_bn2hex(bn);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

}  // namespace

std::string authentication_results_value(const smime::SecurityStatus& status, std::string_view authserv_id) {
  if (!status.is_signed()) return {};
  const bool not_checked = is_failure(status) && status.encrypted;
  std::string out = " " + std::string(authserv_id);
  for (const auto& sig : status.signatures) {
    const char* result = "fail";
    if (not_checked) {
      result = "neutral";
    } else if (sig.verdict == smime::Verdict::valid) {
      result = sig.address_matches ? "pass" : "policy";
    }
    out += ";\n\tsmime=";
    out += result;
    if (!sig.addresses.empty()) out += " body.smime-identifier=" + ar_value(sig.addresses.front());
    const std::string serial = serial_hex(sig.signer.get());
    if (!serial.empty()) out += " body.smime-serial=" + serial;
  }
  return out;
}

bool is_smime_result(std::string_view raw_value, std::string_view authserv_id) {
  std::string_view v = core::trim(raw_value);
  const auto end = v.find_first_of(" \t\r\n;");
  if (!core::iequals(v.substr(0, end), authserv_id)) return false;
  return core::icontains(v, "smime=");
}

std::string security_tag(const smime::SecurityStatus& status, const plan::SecurityTags& tags) {
  if (is_failure(status)) return {};
  std::string out;
  auto add = [&out](const std::string& tag) {
    if (tag.empty()) return;
    if (!out.empty()) out += ' ';
    out += tag;
  };
  if (status.encrypted) add(tags.decrypted);
  if (status.is_signed()) add(status.all_signatures_good() ? tags.signature_valid : tags.signature_invalid);
  return out;
}

}  // namespace postern::crypto
