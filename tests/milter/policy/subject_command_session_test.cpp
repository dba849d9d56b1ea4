// {send_keys} through the postern-policy filter: honoured from an internal
// or authenticated client (the command leaves the Subject, every sealed
// plan carries k=), ignored from outside (Subject untouched, no k=), off
// with policy.subject_commands: false, and not for a no_processing group.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "postern/config/config.hpp"
#include "postern/log/log.hpp"
#include "postern/plan/sealer.hpp"
#include "postern/policy/filter.hpp"
#include "postern/policy/filter_settings.hpp"
#include "postern/testing/delivered.hpp"
#include "postern/testing/milter_driver.hpp"

namespace postern::policy {
namespace {

namespace fs = std::filesystem;
using milter::Status;

class Recorder final : public Submitter {
 public:
  smtp::Result submit(const smtp::Submission& s, const std::vector<std::string_view>& parts) override {
    submissions.push_back(s);
    std::string bytes;
    for (auto p : parts) bytes += p;
    messages.push_back(bytes);
    return {smtp::Outcome::accepted, "250 2.0.0 Ok", "quit"};
  }
  std::vector<smtp::Submission> submissions;
  std::vector<std::string> messages;
};

class SubjectCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init("postern-policy", log::Sink::none);
    dir_ = fs::temp_directory_path() / ("postern-policy-commands-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    write("plan.key", "subject-command-test-secret-0123456789abcdef-0123");
    ::chmod((dir_ / "plan.key").c_str(), 0600);
    write("rules.yaml",
          "direction:\n  internal_networks: [10.0.0.0/8]\n"
          "rules:\n"
          "  - name: sign-partner\n    when: {recipient: \"@partner.example\"}\n    actions: [sign]\n"
          "  - name: hands-off\n    when: {recipient: noproc@example.com}\n    actions: [no_processing]\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary | std::ios::trunc) << text;
  }
  std::shared_ptr<const PolicyFilter> filter(const std::string& extra = "") {
    auto cfg = std::make_shared<const config::Config>(config::load_string(
        filter_schema(),
        "policy: {rules: " + (dir_ / "rules.yaml").string() + extra + "}\nplan: {secret_file: " +
            (dir_ / "plan.key").string() + "}\nnotifications: {sender: postmaster@gw.example.org, hostname: gw.example.org}\n",
        "test.yaml"));
    FilterSettings settings = FilterSettings::from(*cfg);
    return std::make_shared<PolicyFilter>(settings, Policy::load(settings.rules_file),
                                          plan::Secret::load(settings.secret_file), FilterDeps{recorder_, {}, {}});
  }
  plan::Plan plan_of(const std::string& sealed) const {
    plan::Sealer s(plan::Secret::load((dir_ / "plan.key").string()), {});
    plan::Verdict v = s.verify(sealed, plan::Sealer::Clock::now());
    EXPECT_TRUE(v.ok()) << plan::to_string(v.refusal);
    return v.plan.plan;
  }
  // The sealed plan added in the transaction.
  plan::Plan added_plan(const testing::MessageResult& r) const {
    for (const auto& line : r.transcript) {
      if (line.rfind("add_header \"X-Postern-Plan\"", 0) == 0) return plan_of(testing::transcript_fields(line).at(2));
    }
    ADD_FAILURE() << "no plan added";
    return {};
  }
  static std::vector<std::string> subject_changes(const testing::MessageResult& r) {
    std::vector<std::string> out;
    for (const auto& line : r.transcript) {
      if (line.rfind("change_header \"Subject\" 1 ", 0) == 0) out.push_back(testing::transcript_fields(line).at(3));
    }
    return out;
  }
  static testing::Envelope envelope(std::string client, std::vector<std::string> rcpts = {"<bob@example.com>"}) {
    testing::Envelope e;
    e.client_address = std::move(client);
    e.sender = "<alice@example.org>";
    e.recipients = std::move(rcpts);
    e.macros = {{"i", "4Q2x1B0kzNz"}};
    return e;
  }

  fs::path dir_;
  std::shared_ptr<Recorder> recorder_ = std::make_shared<Recorder>();
};

const char kMessage[] = "From: alice@example.org\r\nTo: bob@example.com\r\nSubject: {send_keys} hello\r\n\r\nbody\r\n";

TEST_F(SubjectCommands, InternalClientGetsKeysAndTheCommandLeavesTheSubject) {
  testing::MilterDriver d(filter());
  auto r = d.run(envelope("10.1.2.3"), kMessage);
  ASSERT_EQ(r.verdict.status, Status::proceed);
  EXPECT_EQ(subject_changes(r), std::vector<std::string>{" hello"});
  EXPECT_EQ(added_plan(r).send_keys, plan::SendKeys::all);
}

TEST_F(SubjectCommands, AuthenticatedClientGetsTheSmimeKeys) {
  testing::MilterDriver d(filter());
  testing::Envelope e = envelope("192.0.2.7");
  e.macros["{auth_authen}"] = "alice";
  auto r = d.run(e, "To: bob@example.com\r\nSubject: Offer {SEND_KEYS_SMIME}  for you\r\n\r\nbody\r\n");
  ASSERT_EQ(r.verdict.status, Status::proceed);
  EXPECT_EQ(subject_changes(r), std::vector<std::string>{" Offer  for you"});
  EXPECT_EQ(added_plan(r).send_keys, plan::SendKeys::smime);
}

TEST_F(SubjectCommands, OutsideClientIsIgnoredAndTheSubjectKept) {
  testing::MilterDriver d(filter());
  auto r = d.run(envelope("192.0.2.7"), kMessage);
  ASSERT_EQ(r.verdict.status, Status::proceed);
  EXPECT_TRUE(subject_changes(r).empty());
  EXPECT_EQ(added_plan(r).send_keys, plan::SendKeys::none);
}

TEST_F(SubjectCommands, TurnedOffIsIgnoredEvenFromInside) {
  testing::MilterDriver d(filter(", subject_commands: false"));
  auto r = d.run(envelope("10.1.2.3"), kMessage);
  ASSERT_EQ(r.verdict.status, Status::proceed);
  EXPECT_TRUE(subject_changes(r).empty());
  EXPECT_EQ(added_plan(r).send_keys, plan::SendKeys::none);
}

TEST_F(SubjectCommands, EveryGroupGetsKeysAndTheCopyTheEditedSubject) {
  testing::MilterDriver d(filter());
  auto r = d.run(envelope("10.1.2.3", {"<bob@example.com>", "<carol@partner.example>"}),
                 "From: alice@example.org\r\nTo: bob@example.com, carol@partner.example\r\n"
                 "Subject: {send_keys_pgp} hello\r\n\r\nbody\r\n");
  ASSERT_EQ(r.verdict.status, Status::proceed);
  EXPECT_EQ(added_plan(r).send_keys, plan::SendKeys::pgp);
  ASSERT_EQ(recorder_->messages.size(), 1u);
  const std::string& copy = recorder_->messages[0];
  EXPECT_NE(copy.find("\r\nSubject: hello\r\n"), std::string::npos) << copy;
  const std::size_t at = copy.find("X-Postern-Plan: ") + 16;
  const plan::Plan p = plan_of(copy.substr(at, copy.find("\r\n\r\n", at) - at));
  EXPECT_TRUE(p.sign);
  EXPECT_EQ(p.send_keys, plan::SendKeys::pgp);
}

TEST_F(SubjectCommands, NoProcessingRecipientGetsNoKeys) {
  testing::MilterDriver d(filter());
  auto r = d.run(envelope("10.1.2.3", {"<noproc@example.com>"}),
                 "To: noproc@example.com\r\nSubject: {send_keys} hello\r\n\r\nbody\r\n");
  ASSERT_EQ(r.verdict.status, Status::proceed);
  EXPECT_EQ(added_plan(r).send_keys, plan::SendKeys::none);
  EXPECT_EQ(subject_changes(r), std::vector<std::string>{" hello"}) << "the command is removed all the same";
}

}  // namespace
}  // namespace postern::policy
