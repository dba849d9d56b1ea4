#include "postern/plan/secret.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "postern/core/error.hpp"
#include "postern/core/fd.hpp"

namespace postern::plan {
namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw core::ConfigError(core::Location{path, 0, 0}, "plan secret: " + why);
}

void wipe(std::string& s) noexcept {
  if (!s.empty()) {
    OPENSSL_cleanse(s.data(), s.size());
  }
}

}  // namespace

Secret::Secret(Secret&& other) noexcept : bytes_(std::move(other.bytes_)) { wipe(other.bytes_); }

Secret::~Secret() { wipe(bytes_); }

Secret Secret::load(const std::string& path) {
  core::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    refuse(path, std::string("cannot open: ") + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    refuse(path, std::string("cannot stat: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    refuse(path, "not a regular file");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    refuse(path, "group or others have access to it (mode must be 0600 or 0400)");
  }
  // Read one byte more than allowed so an oversized file is noticed without
  // trusting st_size.
  std::string bytes(kMaxSecretBytes + 2, '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      wipe(bytes);
      refuse(path, std::string("cannot read: ") + std::strerror(err));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  std::size_t size = got;
  if (size > 0 && bytes[size - 1] == '\n') {
    --size;
    if (size > 0 && bytes[size - 1] == '\r') --size;
  }
  Secret secret(std::move(bytes));
  // Past the new size lie only the line break and unused zero bytes.
  secret.bytes_.resize(size);
  if (size < kMinSecretBytes) {
    refuse(path, "shorter than " + std::to_string(kMinSecretBytes) + " bytes");
  }
  if (size > kMaxSecretBytes) {
    refuse(path, "longer than " + std::to_string(kMaxSecretBytes) + " bytes");
  }
  return secret;
}

}  // namespace postern::plan
