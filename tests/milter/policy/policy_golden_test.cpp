// Runs every folder under cases/ through the in-process milter driver.
// A case holds config.yaml (the milter's configuration; the rules are
// always rules.yaml beside it), rules.yaml, envelope.yaml, message.eml and
//   expected.txt              the milter transcript
//   expected-log.txt          the log lines
//   expected-submissions.txt  every message handed to the re-injection
//                             listener (copies and notices), in order
//   submit-replies.txt        optional: one line per submission, "accept",
//                             "temp TEXT" or "perm TEXT" (missing: accept)
// The clock and the nonces are fixed, so sealed plans are stable. Beyond
// the comparison, every X-Postern-Plan written (in the transcript and in
// each copy) is verified with a real Sealer, and its recipients must be
// exactly the recipients the transaction or the copy ends up with.
// POSTERN_UPDATE_GOLDEN=1 rewrites the expected files: review the diff.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>

#include "postern/config/config.hpp"
#include "postern/core/strings.hpp"
#include "postern/log/log.hpp"
#include "postern/plan/sealer.hpp"
#include "postern/policy/filter.hpp"
#include "postern/policy/filter_settings.hpp"
#include "postern/testing/golden.hpp"
#include "postern/testing/milter_driver.hpp"

namespace postern::policy {
namespace {

namespace fs = std::filesystem;

const fs::path kCases = fs::path(POSTERN_SOURCE_DIR) / "tests/milter/policy/cases";
constexpr std::string_view kSecret = "golden-secret-0123456789abcdef-0123456789abcdef";
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1793318400));  // 2026-10-30

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

std::string first_difference(const std::string& expected, const std::string& actual) {
  std::istringstream e(expected), a(actual);
  std::string el, al;
  for (int line = 1;; ++line) {
    const bool he = static_cast<bool>(std::getline(e, el));
    const bool ha = static_cast<bool>(std::getline(a, al));
    if (!he && !ha) return "";
    if (!he || !ha || el != al) {
      return "line " + std::to_string(line) + ": expected [" + (he ? el : "<end>") + "] got [" + (ha ? al : "<end>") +
             "]";
    }
  }
}

struct Recorded {
  smtp::Submission submission;
  std::string data;
};

class Recorder final : public Submitter {
 public:
  explicit Recorder(std::vector<std::string> replies) : replies_(std::move(replies)) {}
  smtp::Result submit(const smtp::Submission& s, const std::vector<std::string_view>& message) override {
    std::lock_guard lock(mutex_);
    const std::size_t n = recorded_.size();
    std::string data;
    for (auto piece : message) data += piece;
    recorded_.push_back({s, data});
    const std::string reply = n < replies_.size() ? replies_[n] : "accept";
    if (core::istarts_with(reply, "temp")) return {smtp::Outcome::temp_failure, reply.substr(5), "rcpt"};
    if (core::istarts_with(reply, "perm")) return {smtp::Outcome::perm_failure, reply.substr(5), "rcpt"};
    return {smtp::Outcome::accepted, "250 2.0.0 Ok: queued as COPY" + std::to_string(n + 1), "quit"};
  }
  std::vector<Recorded> recorded() const {
    std::lock_guard lock(mutex_);
    return recorded_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> replies_;
  std::vector<Recorded> recorded_;
};

class LogCapture {
 public:
  LogCapture() {
    log::set_capture(
        [](log::Level, const std::string& line, void* user) { *static_cast<std::string*>(user) += line + "\n"; },
        &lines_);
  }
  ~LogCapture() { log::set_capture(nullptr, nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  const std::string& lines() const { return lines_; }

 private:
  std::string lines_;
};

// The value of a transcript line `add_header "X-Postern-Plan" "..."`, unquoted.
std::optional<std::string> plan_in_line(const std::string& line) {
  const std::string prefix = "add_header \"X-Postern-Plan\" \"";
  if (line.rfind(prefix, 0) != 0) return std::nullopt;
  std::string value;
  for (std::size_t i = prefix.size(); i + 1 < line.size(); ++i) {
    if (line[i] == '\\' && i + 2 < line.size()) {
      const char c = line[++i];
      value += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    } else {
      value += line[i];
    }
  }
  return value;
}

std::string unquote_address(const std::string& line, std::string_view verb) {
  const std::string prefix = std::string(verb) + " \"";
  if (line.rfind(prefix, 0) != 0) return "";
  return line.substr(prefix.size(), line.find('"', prefix.size()) - prefix.size());
}

// The X-Postern-Plan value in a copy's header (unfolded), "" when none.
std::string plan_in_copy(const std::string& data) {
  const auto at = data.find("\r\nX-Postern-Plan:");
  if (at == std::string::npos) return "";
  std::string value;
  std::size_t i = at + std::string("\r\nX-Postern-Plan:").size();
  for (; i < data.size(); ++i) {
    if (data.compare(i, 2, "\r\n") == 0 && (i + 2 >= data.size() || (data[i + 2] != ' ' && data[i + 2] != '\t'))) break;
    value += data[i];
  }
  return value;
}

class PolicyGolden : public ::testing::TestWithParam<fs::path> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("postern-policy-golden-" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    const fs::path key = *dir_ / "plan.key";
    write_file(key, std::string(kSecret));
    ::chmod(key.c_str(), 0600);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { log::init("postern-policy", log::Sink::none, log::Level::debug); }

  static plan::Secret secret() { return plan::Secret::load((*dir_ / "plan.key").string()); }
  static fs::path* dir_;
};
fs::path* PolicyGolden::dir_ = nullptr;

TEST_P(PolicyGolden, Case) {
  const fs::path& dir = GetParam();
  ASSERT_TRUE(fs::exists(dir / "message.eml")) << dir;
  ASSERT_TRUE(fs::exists(dir / "config.yaml")) << dir;
  std::vector<std::string> replies;
  if (fs::exists(dir / "submit-replies.txt")) {
    std::istringstream in(read_file(dir / "submit-replies.txt"));
    for (std::string line; std::getline(in, line);) replies.push_back(line);
  }
  auto recorder = std::make_shared<Recorder>(replies);
  int counter = 0;
  FilterDeps deps{recorder, [] { return kNow; },
                  [&counter] {
                    char buf[40];
                    std::snprintf(buf, sizeof buf, "%032x", ++counter);
                    return std::string(buf);
                  }};
  auto cfg = std::make_shared<const config::Config>(config::load_file(filter_schema(), (dir / "config.yaml").string()));
  FilterSettings settings = FilterSettings::from(*cfg);
  settings.rules_file = (dir / "rules.yaml").string();
  auto policy = Policy::load(settings.rules_file);
  auto filter = std::make_shared<PolicyFilter>(settings, policy, secret(), deps);

  testing::MilterDriver driver(filter, milter::OnError::tempfail);
  LogCapture capture;
  testing::MessageResult r = driver.run(testing::load_envelope(dir / "envelope.yaml"), read_file(dir / "message.eml"));
  std::string transcript;
  for (const auto& line : r.transcript) transcript += line + "\n";
  std::string submissions;
  const auto recorded = recorder->recorded();
  for (std::size_t i = 0; i < recorded.size(); ++i) {
    const auto& s = recorded[i];
    submissions += "=== submission " + std::to_string(i + 1) + "\n";
    for (const auto& [name, value] : s.submission.xforward) submissions += "XFORWARD " + name + "=" + value + "\n";
    submissions += "MAIL FROM:<" + s.submission.sender + ">\n";
    for (const auto& rcpt : s.submission.recipients) {
      submissions += "RCPT TO:<" + rcpt.address + ">" + (rcpt.dsn_args.empty() ? "" : " " + rcpt.dsn_args) + "\n";
    }
    std::string data = s.data;
    std::string lf;
    for (std::size_t k = 0; k < data.size(); ++k) {
      if (data[k] == '\r' && k + 1 < data.size() && data[k + 1] == '\n') continue;
      lf += data[k];
    }
    submissions += "DATA\n" + lf + (lf.empty() || lf.back() != '\n' ? "\n" : "") + ".\n";
  }

  if (std::getenv("POSTERN_UPDATE_GOLDEN") != nullptr) {
    write_file(dir / "expected.txt", transcript);
    write_file(dir / "expected-log.txt", capture.lines());
    write_file(dir / "expected-submissions.txt", submissions);
  } else {
    EXPECT_EQ(first_difference(read_file(dir / "expected.txt"), transcript), "") << "transcript";
    EXPECT_EQ(first_difference(read_file(dir / "expected-log.txt"), capture.lines()), "") << "log";
    EXPECT_EQ(first_difference(read_file(dir / "expected-submissions.txt"), submissions), "") << "submissions";
  }

  // Every plan is genuine and names exactly the recipients it travels with.
  plan::Sealer verifier(secret(), plan::Sealer::Options{});
  const auto verify_now = kNow + std::chrono::seconds(1);
  std::vector<std::string> in_transaction = r.accepted_recipients;
  std::optional<std::string> kept_plan;
  for (const auto& line : r.transcript) {
    if (auto value = plan_in_line(line)) kept_plan = value;
    if (auto gone = unquote_address(line, "delete_recipient"); !gone.empty()) {
      std::erase(in_transaction, gone);
    }
    if (auto added = unquote_address(line, "add_recipient"); !added.empty()) in_transaction.push_back(added);
  }
  if (r.verdict.status == milter::Status::proceed) {
    ASSERT_TRUE(kept_plan.has_value()) << "an accepted message carries a plan";
    const plan::Verdict v = verifier.verify(*kept_plan, verify_now);
    ASSERT_TRUE(v.ok()) << plan::to_string(v.refusal);
    auto expected = in_transaction;
    auto got = v.plan.plan.recipients;
    std::sort(expected.begin(), expected.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, expected) << "the kept plan names the transaction's recipients";
  } else {
    EXPECT_FALSE(kept_plan.has_value()) << "no plan on a message that is not accepted";
  }
  for (const auto& s : recorded) {
    if (s.submission.sender.empty()) {
      EXPECT_EQ(plan_in_copy(s.data), "") << "a notice carries no plan";
      EXPECT_NE(s.data.find("\r\nAuto-Submitted: auto-"), std::string::npos) << "notices are auto-submitted";
      continue;
    }
    const std::string value = plan_in_copy(s.data);
    ASSERT_FALSE(value.empty()) << "each copy carries its own plan";
    const plan::Verdict v = verifier.verify(value, verify_now);
    ASSERT_TRUE(v.ok()) << plan::to_string(v.refusal);
    std::vector<std::string> expected;
    for (const auto& rcpt : s.submission.recipients) expected.push_back("<" + rcpt.address + ">");
    EXPECT_EQ(v.plan.plan.recipients, expected) << "a copy's plan names the copy's recipients";
    EXPECT_EQ(s.data.find("X-Postern-Forged"), std::string::npos) << "forged internal headers never travel on";
  }
}

std::vector<fs::path> cases() { return testing::golden_cases(kCases); }

INSTANTIATE_TEST_SUITE_P(Cases, PolicyGolden, ::testing::ValuesIn(cases()),
                         [](const auto& param_info) { return param_info.param.filename().string(); });

TEST(PolicyGoldenSet, IsNotEmpty) { EXPECT_GE(cases().size(), 15u); }

}  // namespace
}  // namespace postern::policy
