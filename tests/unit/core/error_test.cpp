#include "postern/core/error.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::core {
namespace {

struct DiagnosticCase {
  Diagnostic diagnostic;
  std::string text;
};

class DiagnosticTest : public ::testing::TestWithParam<DiagnosticCase> {};

TEST_P(DiagnosticTest, PrintsFileLineColumn) { EXPECT_EQ(GetParam().diagnostic.to_string(), GetParam().text); }

INSTANTIATE_TEST_SUITE_P(
    Error, DiagnosticTest,
    ::testing::Values(
        DiagnosticCase{{{"a.yaml", 3, 7}, "unknown key 'x'"}, "a.yaml:3:7: unknown key 'x'"},
        DiagnosticCase{{{"a.yaml", 3, 0}, "bad"}, "a.yaml:3: bad"},
        DiagnosticCase{{{"a.yaml", 0, 5}, "bad"}, "a.yaml: bad"},
        DiagnosticCase{{{"", 2, 1}, "bad"}, "<input>:2:1: bad"},
        DiagnosticCase{{{"a.yaml", 1, 1}, "odd", Diagnostic::Severity::warning}, "a.yaml:1:1: warning: odd"}));

TEST(ConfigError, CarriesEveryDiagnosticAndJoinsThemInWhat) {
  const ConfigError e({Diagnostic{{"f", 1, 2}, "one"}, Diagnostic{{"f", 3, 4}, "two"}});
  ASSERT_EQ(e.diagnostics().size(), 2u);
  EXPECT_EQ(e.diagnostics()[1].message, "two");
  EXPECT_STREQ(e.what(), "f:1:2: one\nf:3:4: two");
}

TEST(ConfigError, SingleLocationForm) {
  const ConfigError e(Location{"f", 9, 1}, "broken");
  ASSERT_EQ(e.diagnostics().size(), 1u);
  EXPECT_EQ(e.diagnostics()[0].where.line, 9);
  EXPECT_EQ(e.diagnostics()[0].severity, Diagnostic::Severity::error);
  EXPECT_STREQ(e.what(), "f:9:1: broken");
}

TEST(Failure, KindNames) {
  const std::vector<std::pair<FailureKind, std::string>> cases = {
      {FailureKind::transient, "transient"}, {FailureKind::permanent, "permanent"},
      {FailureKind::policy, "policy"},       {FailureKind::protocol, "protocol"},
      {FailureKind::internal, "internal"}};
  for (const auto& [kind, name] : cases) {
    EXPECT_EQ(to_string(kind), name);
  }
}

TEST(MessageError, KeepsKindAndReason) {
  const MessageError e(FailureKind::policy, "no key for recipient");
  EXPECT_EQ(e.failure().kind, FailureKind::policy);
  EXPECT_EQ(e.failure().reason, "no key for recipient");
  EXPECT_STREQ(e.what(), "no key for recipient");
}

TEST(AssertDeathTest, AbortsWithExpressionAndPlace) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const int answer = 41;
  EXPECT_DEATH(POSTERN_ASSERT(answer == 42), "assertion failed: answer == 42 at .*error_test.cpp");
  POSTERN_ASSERT(answer == 41);  // a true assertion does nothing
}

}  // namespace
}  // namespace postern::core
