// Runs every folder under cases/ through the in-process milter driver: the
// transcript must match expected.txt, and the log lines the filter wrote
// must match expected-log.txt (one decision, one line); see golden.hpp.
// POSTERN_UPDATE_GOLDEN=1 rewrites both files: review the diff by eye.
#include <gtest/gtest.h>

#include <filesystem>

#include "postern/incamail/incamail_filter.hpp"
#include "postern/incamail/settings.hpp"
#include "postern/log/log.hpp"
#include "postern/testing/golden.hpp"

namespace postern::incamail {
namespace {

namespace fs = std::filesystem;

const fs::path kCases = fs::path(POSTERN_SOURCE_DIR) / "tests/milter/incamail/cases";

class IncaMailGolden : public ::testing::TestWithParam<fs::path> {
 protected:
  void SetUp() override {
    log::init("postern-incamail", log::Sink::none, log::Level::debug);
  }
};

TEST_P(IncaMailGolden, Case) {
  const fs::path& dir = GetParam();
  ASSERT_TRUE(fs::exists(dir / "message.eml")) << dir;
  auto outcome = testing::run_golden_case(dir, schema(), build_filter);
  EXPECT_TRUE(outcome.passed) << outcome.name << ": " << outcome.difference;
  EXPECT_TRUE(fs::exists(dir / "expected-log.txt")) << outcome.name << ": every case states its log lines";
}

std::vector<fs::path> cases() { return testing::golden_cases(kCases); }

INSTANTIATE_TEST_SUITE_P(Cases, IncaMailGolden, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return param_info.param.filename().string(); });

TEST(IncaMailGoldenSet, IsNotEmpty) { EXPECT_GE(cases().size(), 30u); }

}  // namespace
}  // namespace postern::incamail
