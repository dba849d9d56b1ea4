#include "postern/ldap/password.hpp"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "postern/core/error.hpp"
#include "postern/core/fd.hpp"

namespace postern::ldap {
namespace {

constexpr std::size_t kMaxPasswordFile = 4096;

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw core::ConfigError(core::Location{path, 0, 0}, "ldap bind password file: " + why);
}

}  // namespace

Password::Password(Password&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.bytes_.clear();
}

Password::~Password() {
  ::explicit_bzero(bytes_.data(), bytes_.size());
}

Password read_password_file(const std::string& path) {
  core::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    refuse(path, std::string("cannot open: ") + ::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    refuse(path, "not a regular file");
  }
  if ((st.st_mode & S_IRWXO) != 0) {
    refuse(path, "others may access it; make it readable by the service only (chmod 0600 or 0640)");
  }
  if (st.st_size <= 0 || static_cast<std::size_t>(st.st_size) > kMaxPasswordFile) {
    refuse(path, "must hold one line of at most 4 KiB");
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  Password wipe(std::move(bytes));  // wiped on every path out of here
  std::string line(wipe.data(), got);
  const auto end = line.find_first_of("\r\n");
  Password pw(line.substr(0, end));
  ::explicit_bzero(line.data(), line.size());
  if (pw.size() == 0) {
    refuse(path, "the first line is empty");
  }
  return pw;
}

}  // namespace postern::ldap
