// What the golden folders cannot express: the negotiated capabilities,
// several messages and aborts on one connection, the settings checks, and
// the rules of who gets an automatic answer.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "postern/config/config.hpp"
#include "postern/log/log.hpp"
#include "postern/policy/filter.hpp"
#include "postern/policy/filter_settings.hpp"
#include "postern/policy/notices.hpp"
#include "postern/testing/milter_driver.hpp"

namespace postern::policy {
namespace {

namespace fs = std::filesystem;
using milter::Status;

class Recorder final : public Submitter {
 public:
  smtp::Result submit(const smtp::Submission& s, const std::vector<std::string_view>&) override {
    submissions.push_back(s);
    return {smtp::Outcome::accepted, "250 2.0.0 Ok", "quit"};
  }
  std::vector<smtp::Submission> submissions;
};

class PolicySession : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init("postern-policy", log::Sink::none);
    dir_ = fs::temp_directory_path() / ("postern-policy-session-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    write("plan.key", "session-test-secret-0123456789abcdef-0123456789");
    ::chmod((dir_ / "plan.key").c_str(), 0600);
    write("rules.yaml",
          "rules:\n"
          "  - name: ack\n    when: {subject_contains: ack}\n    actions:\n      - acknowledge: Thanks.\n"
          "  - name: sign-carol\n    when: {recipient: carol@example.com}\n    actions: [sign]\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary | std::ios::trunc) << text;
  }
  std::shared_ptr<const PolicyFilter> filter() {
    auto cfg = std::make_shared<const config::Config>(config::load_string(
        filter_schema(),
        "policy: {rules: " + (dir_ / "rules.yaml").string() + "}\nplan: {secret_file: " + (dir_ / "plan.key").string() +
            "}\nnotifications: {sender: postmaster@gw.example.org, hostname: gw.example.org}\n",
        "test.yaml"));
    FilterSettings settings = FilterSettings::from(*cfg);
    return std::make_shared<PolicyFilter>(settings, Policy::load(settings.rules_file),
                                          plan::Secret::load(settings.secret_file), FilterDeps{recorder_, {}, {}});
  }

  fs::path dir_;
  std::shared_ptr<Recorder> recorder_ = std::make_shared<Recorder>();
};

testing::Envelope envelope(std::vector<std::string> rcpts) {
  testing::Envelope e;
  e.sender = "<alice@example.org>";
  e.recipients = std::move(rcpts);
  e.macros = {{"i", "4Q2x1B0kzNz"}};
  return e;
}

int count_starting(const std::vector<std::string>& lines, std::string_view prefix) {
  return static_cast<int>(
      std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; }));
}

TEST_F(PolicySession, NegotiatesWhatItNeeds) {
  milter::Capabilities c = filter()->capabilities();
  EXPECT_TRUE(c.connect.wanted && !c.connect.may_reply);
  EXPECT_TRUE(c.envrcpt.wanted && !c.envrcpt.may_reply);
  EXPECT_TRUE(c.header.wanted && c.body.wanted);
  EXPECT_FALSE(c.rejected_recipients);
  EXPECT_FALSE(c.change_body);
  EXPECT_FALSE(c.change_sender);
  EXPECT_TRUE(c.add_headers && c.change_headers && c.add_recipients && c.delete_recipients && c.quarantine);
  EXPECT_EQ(c.macros[milter::Stage::envfrom],
            (std::vector<std::string>{"{auth_authen}", "{daemon_name}", "{tls_version}", "{cipher_bits}"}));
}

TEST_F(PolicySession, SecondMessageAndAbortStartClean) {
  testing::MilterDriver d(filter());
  d.open(envelope({"<bob@example.com>", "<carol@example.com>"}));
  ASSERT_EQ(d.connect().status, Status::proceed);
  ASSERT_EQ(d.helo().status, Status::proceed);
  const std::string split =
      "To: bob@example.com, carol@example.com\r\nSubject: hi\r\nX-Postern-Plan: x\r\n\r\nbody\r\n";
  auto first = d.message(split);
  EXPECT_EQ(first.verdict.status, Status::proceed);
  EXPECT_EQ(count_starting(first.transcript, "delete_header \"X-Postern-Plan\""), 1);
  EXPECT_EQ(recorder_->submissions.size(), 1u) << "carol's plan differs: one copy";
  // An aborted message leaves nothing behind for the next one.
  d.aborted_message(split, 5);
  auto second = d.message("To: bob@example.com, carol@example.com\r\nSubject: again\r\n\r\nbody\r\n");
  EXPECT_EQ(second.verdict.status, Status::proceed);
  EXPECT_EQ(count_starting(second.transcript, "delete_header"), 0) << "no stripping left over";
  EXPECT_EQ(count_starting(second.transcript, "add_header \"X-Postern-Plan\""), 1);
  EXPECT_EQ(recorder_->submissions.size(), 2u);
  d.close();
}

TEST_F(PolicySession, BulkMailGetsNoAcknowledgement) {
  testing::MilterDriver d(filter());
  auto r =
      d.run(envelope({"<bob@example.com>"}), "To: bob@example.com\r\nSubject: ack\r\nPrecedence: bulk\r\n\r\nx\r\n");
  EXPECT_EQ(r.verdict.status, Status::proceed);
  EXPECT_TRUE(recorder_->submissions.empty());
  auto answered = d.run(envelope({"<bob@example.com>"}), "To: bob@example.com\r\nSubject: ack\r\n\r\nx\r\n");
  ASSERT_EQ(recorder_->submissions.size(), 1u);
  EXPECT_EQ(recorder_->submissions[0].sender, "");
  EXPECT_EQ(recorder_->submissions[0].recipients[0].address, "alice@example.org");
}

TEST(PolicyNotices, WhoGetsNoAutomaticAnswer) {
  const std::string us = "postmaster@gw.example.org";
  EXPECT_EQ(no_reply_reason("", us, std::nullopt, std::nullopt), "null sender");
  EXPECT_EQ(no_reply_reason("MAILER-DAEMON@example.net", us, std::nullopt, std::nullopt), "mailer-daemon");
  EXPECT_EQ(no_reply_reason("Postmaster@gw.example.org", us, std::nullopt, std::nullopt), "our own notice sender");
  EXPECT_EQ(no_reply_reason("a@example.net", us, std::string(" auto-replied"), std::nullopt), "auto-submitted");
  EXPECT_EQ(no_reply_reason("a@example.net", us, std::string(" No (comment)"), std::nullopt), std::nullopt);
  EXPECT_EQ(no_reply_reason("a@example.net", us, std::string(" no; x=y"), std::nullopt), std::nullopt);
  EXPECT_EQ(no_reply_reason("a@example.net", us, std::nullopt, std::string(" List")), "precedence list");
  EXPECT_EQ(no_reply_reason("a@example.net", us, std::nullopt, std::string(" first-class")), std::nullopt);
}

TEST(PolicyNotices, Placeholders) {
  NoticeContext ctx;
  ctx.sender = "alice@example.org";
  ctx.recipients = {"bob@example.com", "carol@example.com"};
  ctx.subject = "Hi\r\nBcc: evil@example.net";
  ctx.queue_id = "4Q2x";
  EXPECT_EQ(
      expand_placeholders("${sender} to ${recipients} re ${subject} (${rule}, ${queue_id}) ${other} ${", ctx, "r1"),
      "alice@example.org to bob@example.com, carol@example.com re Hi\\x0d\\x0aBcc: evil@example.net (r1, 4Q2x) "
      "${other} ${");
}

TEST(PolicyNotices, DateIsRfc5322Utc) {
  EXPECT_EQ(rfc5322_date(std::chrono::system_clock::time_point(std::chrono::seconds(1793318400))),
            "Fri, 30 Oct 2026 00:00:00 +0000");
}

TEST(PolicySettings, RejectsUnusableNotificationAddresses) {
  try {
    FilterSettings::from(
        config::load_string(filter_schema(), "notifications: {sender: 'not an address', admin: 'a@'}\n", "bad.yaml"));
    FAIL() << "accepted";
  } catch (const core::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u);
    EXPECT_NE(e.diagnostics()[0].message.find("notifications.sender"), std::string::npos);
    EXPECT_NE(e.diagnostics()[1].message.find("notifications.admin"), std::string::npos);
  }
}

TEST(PolicySettings, Defaults) {
  const FilterSettings s = FilterSettings::from(config::defaults(filter_schema()));
  EXPECT_EQ(s.rules_file, "/etc/postern/policy-rules.yaml");
  EXPECT_EQ(s.secret_file, "/etc/postern/plan.key");
  EXPECT_EQ(s.reinjection.host, "127.0.0.1");
  EXPECT_EQ(s.reinjection.port, 10030u);
  EXPECT_EQ(s.plan_max_age, std::chrono::seconds(600));
  EXPECT_EQ(s.notice_sender, "postmaster@" + s.hostname);
  EXPECT_EQ(s.smtp.helo, s.hostname);
}

}  // namespace
}  // namespace postern::policy
