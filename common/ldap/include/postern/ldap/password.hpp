// NAME
//   password - the bind password, read from a file only its owner can read
// SUMMARY
//   Password pw = read_password_file("/etc/postern/ldap.secret");
//   berval cred{pw.size(), pw.data()};
// DESCRIPTION
//   The password is the file's first line (a trailing CR/LF is dropped). The
//   file must be a regular file that others cannot read or write (0600,
//   0640 or stricter), at most 4 KiB and not empty. The bytes are wiped
//   from memory when the Password goes away; they are never logged, and no
//   error message contains them.
// DIAGNOSTICS
//   read_password_file() throws core::ConfigError naming the file and the
//   problem (never its content).
// THREADS
//   A value; not shared.
#pragma once

#include <string>

namespace postern::ldap {

class Password {
 public:
  explicit Password(std::string bytes) noexcept : bytes_(std::move(bytes)) {}
  Password(const Password&) = delete;
  Password& operator=(const Password&) = delete;
  Password(Password&& other) noexcept;
  Password& operator=(Password&&) = delete;
  ~Password();

  char* data() noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }

 private:
  std::string bytes_;
};

Password read_password_file(const std::string& path);

}  // namespace postern::ldap
