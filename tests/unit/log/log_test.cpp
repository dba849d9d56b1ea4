#include "postern/log/log.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace postern::log {
namespace {

struct Captured {
  std::vector<std::pair<Level, std::string>> lines;
};

void capture(Level level, const std::string& line, void* user) {
  static_cast<Captured*>(user)->lines.emplace_back(level, line);
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    init("postern-test", Sink::none, Level::info);
    set_capture(&capture, &captured_);
  }
  void TearDown() override {
    set_capture(nullptr, nullptr);
    set_min_level(Level::info);
  }
  Captured captured_;
};

struct EscapeCase {
  std::string value;
  std::string written;
};

class EscapeTest : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(EscapeTest, KeepsOneLineAndPrintableAscii) { EXPECT_EQ(escape_value(GetParam().value), GetParam().written); }

INSTANTIATE_TEST_SUITE_P(
    Log, EscapeTest,
    ::testing::Values(EscapeCase{"<a@example.org>", "<a@example.org>"}, EscapeCase{"", "\"\""},
                      EscapeCase{"two words", "\"two words\""}, EscapeCase{"k=v", "\"k=v\""},
                      EscapeCase{"say \"hi\"", "\"say \\\"hi\\\"\""}, EscapeCase{"a\\b", "\"a\\\\b\""},
                      EscapeCase{"line\nbreak", "line\\x0abreak"}, EscapeCase{"cr\rlf", "cr\\x0dlf"},
                      EscapeCase{"tab\there", "tab\\x09here"}, EscapeCase{"\x1b[31mred", "\\x1b[31mred"},
                      EscapeCase{"del\x7f", "del\\x7f"}, EscapeCase{std::string("nul\0x", 5), "nul\\x00x"},
                      EscapeCase{"Gr\xc3\xbc\xc3\x9f" "e", "Gr\\xc3\\xbc\\xc3\\x9f" "e"},
                      EscapeCase{"\xff", "\\xff"}, EscapeCase{"~", "~"}));

TEST_F(LogTest, FormatWritesQueueIdProgramEventAndFields) {
  EXPECT_EQ(format("4Q2x1B0kzNz", "tagged", {{"type", "c"}, {"rcpt", "<a@b.ch>"}, {"size", 1234}}),
            "4Q2x1B0kzNz: postern-test: tagged type=c rcpt=<a@b.ch> size=1234");
  EXPECT_EQ(format("ABC", "done", {}), "ABC: postern-test: done");
  EXPECT_EQ(format("ABC", "done", {{"reason", "no key found"}, {"n", -3}}),
            "ABC: postern-test: done reason=\"no key found\" n=-3");
}

TEST_F(LogTest, EmptyQueueIdIsNoqueue) {
  EXPECT_EQ(format("", "connect", {{"client", "[192.0.2.1]"}}), "NOQUEUE: postern-test: connect client=[192.0.2.1]");
}

TEST_F(LogTest, QueueIdAndEventAreEscapedToo) {
  EXPECT_EQ(format("Q\nX", "bad event", {}), "Q\\x0aX: postern-test: \"bad event\"");
}

TEST_F(LogTest, ProgramNameComesFromInit) {
  EXPECT_EQ(program_name(), "postern-test");
  init("postern-other", Sink::none);
  EXPECT_EQ(format("Q", "e", {}), "Q: postern-other: e");
}

struct PrefixCase {
  Level level;
  std::string queue_id;
  std::string line;
};

class PrefixTest : public LogTest, public ::testing::WithParamInterface<PrefixCase> {};

TEST_P(PrefixTest, LevelWordSitsAfterProgramName) {
  const auto& c = GetParam();
  set_min_level(Level::debug);
  write(c.level, c.queue_id, "dns-timeout", {{"domain", "example.org"}});
  ASSERT_EQ(captured_.lines.size(), 1u);
  EXPECT_EQ(captured_.lines[0].first, c.level);
  EXPECT_EQ(captured_.lines[0].second, c.line);
}

INSTANTIATE_TEST_SUITE_P(
    Log, PrefixTest,
    ::testing::Values(
        PrefixCase{Level::debug, "Q1", "Q1: postern-test: dns-timeout domain=example.org"},
        PrefixCase{Level::info, "Q1", "Q1: postern-test: dns-timeout domain=example.org"},
        PrefixCase{Level::warning, "Q1", "Q1: postern-test: warning: dns-timeout domain=example.org"},
        PrefixCase{Level::error, "", "NOQUEUE: postern-test: error: dns-timeout domain=example.org"},
        // A queue id that itself holds ": " must not move the level word.
        PrefixCase{Level::warning, "a: b", "\"a: b\": postern-test: warning: dns-timeout domain=example.org"}));

TEST_F(LogTest, LinesBelowTheMinimumLevelAreDropped) {
  set_min_level(Level::warning);
  debug("Q", "d");
  info("Q", "i");
  warning("Q", "w");
  error("Q", "e");
  ASSERT_EQ(captured_.lines.size(), 2u);
  EXPECT_EQ(captured_.lines[0].second, "Q: postern-test: warning: w");
  EXPECT_EQ(captured_.lines[1].second, "Q: postern-test: error: e");

  captured_.lines.clear();
  set_min_level(Level::debug);
  debug("Q", "d");
  EXPECT_EQ(captured_.lines.size(), 1u);

  captured_.lines.clear();
  init("postern-test", Sink::none, Level::error);
  warning("Q", "w");
  EXPECT_TRUE(captured_.lines.empty());
}

TEST_F(LogTest, CaptureCanBeStopped) {
  set_capture(nullptr, nullptr);
  info("Q", "not captured");  // goes to Sink::none
  EXPECT_TRUE(captured_.lines.empty());
}

TEST(ParseLevel, KnownNamesOnly) {
  EXPECT_EQ(parse_level("debug"), Level::debug);
  EXPECT_EQ(parse_level("info"), Level::info);
  EXPECT_EQ(parse_level("warning"), Level::warning);
  EXPECT_EQ(parse_level("error"), Level::error);
  EXPECT_THROW(parse_level("Info"), std::invalid_argument);
  EXPECT_THROW(parse_level("warn"), std::invalid_argument);
  EXPECT_THROW(parse_level(""), std::invalid_argument);
}

}  // namespace
}  // namespace postern::log
