#include "postern/plan/secret.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "postern/core/error.hpp"
#include "secret_file.hpp"

namespace postern::plan {
namespace {

using testing::SecretFile;
using ::testing::HasSubstr;

const std::string kKey32(32, 'k');

struct RefusedCase {
  const char* label;
  std::string bytes;
  mode_t mode;
  const char* why;
};

class SecretRefused : public ::testing::TestWithParam<RefusedCase> {};

TEST_P(SecretRefused, ThrowsWithPathAndReason) {
  const auto& c = GetParam();
  SecretFile file(c.label, c.bytes, c.mode);
  try {
    Secret::load(file.path());
    FAIL() << "loaded";
  } catch (const core::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].where.file, file.path());
    EXPECT_THAT(e.diagnostics()[0].message, HasSubstr(c.why));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SecretRefused,
    ::testing::Values(RefusedCase{"group-readable", kKey32, 0640, "group or others"},
                      RefusedCase{"world-readable", kKey32, 0604, "group or others"},
                      RefusedCase{"group-writable", kKey32, 0620, "group or others"},
                      RefusedCase{"short", std::string(31, 'k'), 0600, "shorter than 32 bytes"},
                      RefusedCase{"short-after-newline", std::string(31, 'k') + "\n", 0600, "shorter than 32 bytes"},
                      RefusedCase{"empty", "", 0600, "shorter than 32 bytes"},
                      RefusedCase{"huge", std::string(kMaxSecretBytes + 1, 'k'), 0600, "longer than 4096 bytes"}),
    [](const auto& case_info) {
      std::string n = case_info.param.label;
      std::replace(n.begin(), n.end(), '-', '_');
      return n;
    });

TEST(Secret, MissingFileNamesTheError) {
  EXPECT_THROW(Secret::load("/nonexistent/postern/plan.key"), core::ConfigError);
}

TEST(Secret, DirectoryIsRefused) {
  try {
    Secret::load("/");
    FAIL() << "loaded";
  } catch (const core::ConfigError& e) {
    EXPECT_THAT(e.diagnostics()[0].message, HasSubstr("not a regular file"));
  }
}

struct LoadedCase {
  const char* label;
  std::string bytes;
  std::string key;
  mode_t mode;
};

class SecretLoaded : public ::testing::TestWithParam<LoadedCase> {};

TEST_P(SecretLoaded, KeepsBytesMinusOneLineBreak) {
  const auto& c = GetParam();
  SecretFile file(c.label, c.bytes, c.mode);
  const Secret s = Secret::load(file.path());
  EXPECT_EQ(s.bytes(), c.key);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SecretLoaded,
    ::testing::Values(LoadedCase{"exact", kKey32, kKey32, 0600}, LoadedCase{"read-only", kKey32, kKey32, 0400},
                      LoadedCase{"lf", kKey32 + "\n", kKey32, 0600}, LoadedCase{"crlf", kKey32 + "\r\n", kKey32, 0600},
                      LoadedCase{"two-lf", kKey32 + "\n\n", kKey32 + "\n", 0600},
                      LoadedCase{"binary", std::string("\0\x01\xff", 3) + kKey32, std::string("\0\x01\xff", 3) + kKey32, 0600},
                      LoadedCase{"max", std::string(kMaxSecretBytes, 'm'), std::string(kMaxSecretBytes, 'm'), 0600}),
    [](const auto& case_info) {
      std::string n = case_info.param.label;
      std::replace(n.begin(), n.end(), '-', '_');
      return n;
    });

}  // namespace
}  // namespace postern::plan
