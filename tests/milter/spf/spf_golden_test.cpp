// Runs every folder under cases/ through the in-process milter driver with
// zone.txt (the case's own, else the shared one beside cases/) as the only
// DNS: the transcript must match
// expected.txt and the log lines expected-log.txt (one decision, one line).
// POSTERN_UPDATE_GOLDEN=1 rewrites both files: review the diff by eye.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "postern/log/log.hpp"
#include "postern/spf/zone_resolver.hpp"
#include "postern/spf_milter/settings.hpp"
#include "postern/spf_milter/spf_filter.hpp"
#include "postern/testing/golden.hpp"

namespace postern::spf_milter {
namespace {

namespace fs = std::filesystem;

const fs::path kCases = fs::path(POSTERN_SOURCE_DIR) / "tests/milter/spf/cases";
const fs::path kSharedZone = fs::path(POSTERN_SOURCE_DIR) / "tests/milter/spf/zone.txt";

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class SpfGolden : public ::testing::TestWithParam<fs::path> {
 protected:
  void SetUp() override {
    log::init("postern-spf", log::Sink::none, log::Level::info);
  }
};

TEST_P(SpfGolden, Case) {
  const fs::path& dir = GetParam();
  const fs::path zone_file = fs::exists(dir / "zone.txt") ? dir / "zone.txt" : kSharedZone;
  auto zone = std::make_shared<spf::ZoneResolver>(spf::ZoneResolver::parse(read(zone_file)));
  auto outcome = testing::run_golden_case(dir, schema(), [&](std::shared_ptr<const config::Config> cfg) {
    return build_filter_with(*cfg, zone);
  });
  EXPECT_TRUE(outcome.passed) << outcome.name << ": " << outcome.difference;
  EXPECT_TRUE(fs::exists(dir / "expected-log.txt")) << outcome.name << ": every case states its log lines";
}

std::vector<fs::path> cases() { return testing::golden_cases(kCases); }

INSTANTIATE_TEST_SUITE_P(Cases, SpfGolden, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) {
                           std::string n = param_info.param.filename().string();
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

TEST(SpfGoldenSet, IsNotEmpty) { EXPECT_GE(cases().size(), 40u); }

}  // namespace
}  // namespace postern::spf_milter
