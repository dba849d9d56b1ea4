// NAME
//   secret_file - a temporary key file for the plan tests
// DESCRIPTION
//   Created under the test's temporary directory with the mode given, removed
//   when the object goes away.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace postern::plan::testing {

class SecretFile {
 public:
  SecretFile(std::string_view name, std::string_view bytes, mode_t mode = 0600)
      : path_(std::filesystem::temp_directory_path() / ("postern-plan-" + std::to_string(::getpid()) + "-" + std::string(name))) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
    ::chmod(path_.c_str(), mode);
  }
  SecretFile(const SecretFile&) = delete;
  SecretFile& operator=(const SecretFile&) = delete;
  ~SecretFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace postern::plan::testing
