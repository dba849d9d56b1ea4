#include "postern/milter/guard.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "postern/core/error.hpp"
#include "postern/log/log.hpp"
#include "postern/testing/recording_actions.hpp"

namespace postern::milter {
namespace {

struct LogCapture {
  std::vector<std::string> lines;
  LogCapture() {
    log::init("postern-test", log::Sink::none);
    log::set_capture([](log::Level, const std::string& line, void* user) {
      static_cast<LogCapture*>(user)->lines.push_back(line);
    }, this);
  }
  ~LogCapture() { log::set_capture(nullptr, nullptr); }
};

struct Case {
  const char* name;
  OnError on_error;
  std::function<Verdict()> body;
  Status expected;
  const char* expected_code;  // "" when no reply
  const char* expected_log;   // substring of the one log line, "" for none
};

class GuardTest : public ::testing::TestWithParam<Case> {};

TEST_P(GuardTest, MapsOutcome) {
  const Case& c = GetParam();
  LogCapture capture;
  testing::RecordingActions actions{Capabilities{}};
  actions.set_macros({{"i", "4QABC123"}});
  Verdict v = guarded(c.on_error, actions, "eom", c.body);
  EXPECT_EQ(v.status, c.expected);
  if (std::string_view(c.expected_code).empty()) {
    EXPECT_FALSE(v.reply.has_value());
  } else {
    ASSERT_TRUE(v.reply.has_value());
    EXPECT_EQ(v.reply->code, c.expected_code);
  }
  if (std::string_view(c.expected_log).empty()) {
    EXPECT_TRUE(capture.lines.empty());
  } else {
    ASSERT_EQ(capture.lines.size(), 1u);
    EXPECT_NE(capture.lines[0].find(c.expected_log), std::string::npos) << capture.lines[0];
    EXPECT_EQ(capture.lines[0].rfind("4QABC123: postern-test: error: failure step=eom", 0), 0u) << capture.lines[0];
  }
}

INSTANTIATE_TEST_SUITE_P(
    Outcomes, GuardTest,
    ::testing::Values(
        Case{"ok", OnError::tempfail, [] { return Verdict::proceed(); }, Status::proceed, "", ""},
        Case{"own_reject_passes_through", OnError::tempfail,
             [] { return Verdict::reject("550", "5.7.1", "no"); }, Status::reject, "550", ""},
        Case{"std_exception_tempfail", OnError::tempfail,
             []() -> Verdict { throw std::runtime_error("boom"); }, Status::tempfail, "451",
             "kind=internal reason=boom action=tempfail"},
        Case{"std_exception_accept", OnError::accept,
             []() -> Verdict { throw std::runtime_error("boom"); }, Status::accept, "", "action=accept"},
        Case{"std_exception_reject", OnError::reject,
             []() -> Verdict { throw std::runtime_error("boom"); }, Status::reject, "550", "action=reject"},
        Case{"non_std_exception", OnError::tempfail, []() -> Verdict { throw 42; }, Status::tempfail, "451",
             "reason=\"unknown exception\""},
        Case{"transient_always_tempfails", OnError::accept,
             []() -> Verdict { throw core::MessageError(core::FailureKind::transient, "dns timeout"); },
             Status::tempfail, "451", "kind=transient"},
        Case{"policy_rejects", OnError::tempfail,
             []() -> Verdict { throw core::MessageError(core::FailureKind::policy, "no key"); },
             Status::reject, "550", "kind=policy"},
        Case{"internal_follows_config", OnError::accept,
             []() -> Verdict { throw core::MessageError(core::FailureKind::internal, "bug"); },
             Status::accept, "", "kind=internal"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(ParseOnError, KnownAndUnknown) {
  EXPECT_EQ(parse_on_error("tempfail"), OnError::tempfail);
  EXPECT_EQ(parse_on_error("accept"), OnError::accept);
  EXPECT_EQ(parse_on_error("reject"), OnError::reject);
  EXPECT_THROW(parse_on_error("continue"), std::invalid_argument);
}

}  // namespace
}  // namespace postern::milter
