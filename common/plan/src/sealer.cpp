#include "postern/plan/sealer.hpp"

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "postern/core/c_unique.hpp"
#include "postern/mime/transfer_encoding.hpp"

namespace postern::plan {
namespace {

using Mac = core::CUnique<EVP_MAC, &EVP_MAC_free>;
using MacCtx = core::CUnique<EVP_MAC_CTX, &EVP_MAC_CTX_free>;

constexpr std::string_view kVersion = "1";
constexpr std::size_t kMacBytes = 32;
constexpr std::size_t kNonceBytes = 16;

std::string to_base64url(std::string_view bytes) {
  std::string s = mime::encode_base64(bytes);
  std::erase(s, '=');
  std::replace(s.begin(), s.end(), '+', '-');
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

std::optional<std::string> from_base64url(std::string_view text) {
  std::string s(text);
  // The standard alphabet's own characters and padding are not base64url:
  // accepting them would give one plan two encodings.
  if (s.find_first_of("+/=") != std::string::npos) {
    return std::nullopt;
  }
  std::replace(s.begin(), s.end(), '-', '+');
  std::replace(s.begin(), s.end(), '_', '/');
  auto bytes = mime::decode_base64(s);
  // The decoder ignores the unused low bits of the last character; only the
  // canonical encoding is accepted, so a sealed value has exactly one form.
  if (!bytes || to_base64url(*bytes) != text) {
    return std::nullopt;
  }
  return bytes;
}

std::string random_nonce() {
  std::array<unsigned char, kNonceBytes> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    throw std::runtime_error("plan: no random bytes for a nonce");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : raw) {
    hex += kHex[b >> 4];
    hex += kHex[b & 0x0f];
  }
  return hex;
}

std::string fold(std::string_view value) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); i += kFoldWidth) {
    if (i != 0) out += "\n\t";
    out += value.substr(i, kFoldWidth);
  }
  return out;
}

std::string signed_text(std::string_view encoded_payload) {
  std::string s(kPlanHeader);
  s += ':';
  s += kVersion;
  s += '.';
  s += encoded_payload;
  return s;
}

}  // namespace

const char* to_string(Refusal refusal) noexcept {
  switch (refusal) {
    case Refusal::none: return "none";
    case Refusal::malformed: return "malformed";
    case Refusal::unsupported_version: return "unsupported-version";
    case Refusal::unsigned_plan: return "unsigned";
    case Refusal::forged: return "forged";
    case Refusal::stale: return "stale";
    case Refusal::future: return "future";
    case Refusal::replayed: return "replayed";
  }
  return "malformed";
}

Sealer::Sealer(Secret secret, Options options)
    : secret_(std::move(secret)), options_(options), replay_(options.replay_capacity) {}

std::string Sealer::mac(std::string_view text) const {
  Mac hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!hmac) throw std::runtime_error("plan: OpenSSL has no HMAC");
  MacCtx ctx(EVP_MAC_CTX_new(hmac.get()));
  if (!ctx) throw std::bad_alloc();
  char digest[] = "SHA256";
  const std::array<OSSL_PARAM, 2> params{OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                         OSSL_PARAM_construct_end()};
  const auto key = secret_.bytes();
  std::array<unsigned char, kMacBytes> out{};
  std::size_t out_len = 0;
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), params.data()) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &out_len, out.size()) != 1 || out_len != kMacBytes) {
    throw std::runtime_error("plan: HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(out.data()), out_len);
}

std::string Sealer::seal(const Plan& plan, Clock::time_point now) const {
  return seal(plan, Stamp{std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count(),
                          random_nonce()});
}

std::string Sealer::seal(const Plan& plan, const Stamp& stamp) const {
  const std::string payload = to_base64url(encode_payload(plan, stamp));
  std::string value(kVersion);
  value += '.';
  value += payload;
  value += '.';
  value += to_base64url(mac(signed_text(payload)));
  std::string folded = fold(value);
  if (folded.size() > kMaxValueBytes) {
    throw std::length_error("plan: sealed value longer than " + std::to_string(kMaxValueBytes) + " bytes");
  }
  return folded;
}

Verdict Sealer::verify(std::string_view header_value, Clock::time_point now) {
  Verdict v;
  if (header_value.size() > kMaxValueBytes) {
    v.refusal = Refusal::malformed;
    return v;
  }
  std::string value;
  for (char c : header_value) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') value += c;
  }
  const std::string_view all(value);
  const auto first = all.find('.');
  const std::string_view version = all.substr(0, first);
  if (version.empty() || version.find_first_not_of("0123456789") != std::string_view::npos) {
    v.refusal = Refusal::malformed;
    return v;
  }
  if (version != kVersion) {
    v.refusal = Refusal::unsupported_version;
    return v;
  }
  const std::string_view rest = first == std::string_view::npos ? std::string_view() : all.substr(first + 1);
  const auto second = rest.find('.');
  const std::string_view payload_text = rest.substr(0, second);
  const std::string_view mac_text = second == std::string_view::npos ? std::string_view() : rest.substr(second + 1);
  const auto payload = from_base64url(payload_text);
  if (payload_text.empty() || !payload || mac_text.find('.') != std::string_view::npos) {
    v.refusal = Refusal::malformed;
    return v;
  }
  if (mac_text.empty()) {
    v.refusal = Refusal::unsigned_plan;
    return v;
  }
  const auto given = from_base64url(mac_text);
  if (!given) {
    v.refusal = Refusal::malformed;
    return v;
  }
  const std::string expected = mac(signed_text(payload_text));
  if (given->size() != expected.size() || CRYPTO_memcmp(given->data(), expected.data(), expected.size()) != 0) {
    v.refusal = Refusal::forged;
    return v;
  }
  auto decoded = decode_payload(*payload);
  if (!decoded) {
    v.refusal = Refusal::malformed;
    return v;
  }
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto oldest = now_s - options_.max_age.count();
  if (decoded->stamp.time < oldest) {
    v.refusal = Refusal::stale;
    return v;
  }
  if (decoded->stamp.time > now_s + options_.max_skew.count()) {
    v.refusal = Refusal::future;
    return v;
  }
  if (!replay_.first_use(decoded->stamp, oldest)) {
    v.refusal = Refusal::replayed;
    return v;
  }
  v.plan = std::move(*decoded);
  return v;
}

}  // namespace postern::plan
