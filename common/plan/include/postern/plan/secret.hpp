// NAME
//   secret - the HMAC key shared by the milters, read from a file
// SUMMARY
//   Secret key = Secret::load("/etc/postern/plan.key");
// DESCRIPTION
//   The key is the file's bytes, minus one trailing line break (so
//   `openssl rand -base64 48 > plan.key` works as well as raw random bytes).
//   Load it before dropping privileges. The file must be a regular file that
//   neither group nor others may read or write (mode 0600 or 0400), holding
//   at least kMinSecretBytes and at most kMaxSecretBytes bytes: a short key is
//   guessable, a huge one is the wrong file. The bytes are wiped from memory
//   when the Secret goes away.
// DIAGNOSTICS
//   load() throws core::ConfigError naming the file and the problem.
// THREADS
//   Immutable after load; share freely.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace postern::plan {

inline constexpr std::size_t kMinSecretBytes = 32;
inline constexpr std::size_t kMaxSecretBytes = 4096;

class Secret {
 public:
  static Secret load(const std::string& path);

  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&&) = delete;
  ~Secret();

  std::string_view bytes() const noexcept { return bytes_; }

 private:
  explicit Secret(std::string bytes) noexcept : bytes_(std::move(bytes)) {}
  std::string bytes_;
};

}  // namespace postern::plan
