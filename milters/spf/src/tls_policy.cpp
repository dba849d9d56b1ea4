#include "postern/spf_milter/tls_policy.hpp"

#include <charconv>

#include "postern/core/strings.hpp"

namespace postern::spf_milter {

int tls_version_rank(std::string_view version) noexcept {
  static constexpr std::string_view kNames[] = {"SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
  for (int i = 0; i < 5; ++i) {
    if (core::iequals(version, kNames[i])) {
      return i;
    }
  }
  return -1;
}

TlsFacts tls_facts(const milter::Actions& actions) {
  TlsFacts tls;
  auto version = actions.macro("{tls_version}");
  if (!version || version->empty()) {
    return tls;
  }
  tls.version = *version;
  tls.cipher = actions.macro("{cipher}").value_or("");
  const std::string bits = actions.macro("{cipher_bits}").value_or("0");
  int value = 0;
  const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), value);
  tls.bits = ec == std::errc() && end == bits.data() + bits.size() ? value : 0;
  return tls;
}

std::optional<milter::Reply> tls_violation(const TlsFacts& tls, const TlsRequirements& required) {
  static constexpr const char* kNames[] = {"SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
  const auto reply = [](std::string text) {
    return milter::Reply{"550", "5.7.0", std::move(text) + " (SecureMail policy)"};
  };
  if (!tls.version) {
    return reply("TLS is required: use STARTTLS");
  }
  const int rank = tls_version_rank(*tls.version);
  if (rank < required.min_version) {
    const int wanted = required.min_version >= 0 && required.min_version < 5 ? required.min_version : 3;
    return reply("TLS protocol " + *tls.version + " is below the required " + kNames[wanted]);
  }
  if (tls.bits < required.min_bits) {
    return reply("cipher " + tls.cipher + " has " + std::to_string(tls.bits) + " bits, below the required " +
                 std::to_string(required.min_bits));
  }
  const bool ephemeral = rank >= 4 || core::istarts_with(tls.cipher, "ECDHE-") || core::istarts_with(tls.cipher, "DHE-");
  if (required.forward_secrecy && !ephemeral) {
    return reply("cipher " + tls.cipher + " lacks forward secrecy (use ECDHE or DHE, or TLS 1.3)");
  }
  return std::nullopt;
}

}  // namespace postern::spf_milter
