// The driver must behave as Postfix and libmilter do, or filters tested with
// it would pass here and fail live. These cases pin that behaviour down.
#include "postern/testing/milter_driver.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "postern/log/log.hpp"

namespace postern::testing {
namespace {

using milter::Actions;
using milter::Capabilities;
using milter::Stage;
using milter::Status;
using milter::Verdict;

// Records every callback; behaviour per step is set by the test.
struct Script {
  Capabilities caps;
  std::vector<std::string> calls;
  std::function<Verdict(std::string_view step, Actions&)> on_step = [](std::string_view, Actions&) {
    return Verdict::proceed();
  };
};

class ScriptSession final : public milter::Session {
 public:
  explicit ScriptSession(Script& s) : s_(s) {}
  Verdict on_connect(const milter::ConnectInfo& info, Actions& a) override {
    return step("connect " + (info.address.empty() ? std::string("null") : info.address), a);
  }
  Verdict on_helo(std::string_view helo, Actions& a) override { return step("helo " + std::string(helo), a); }
  Verdict on_mail(const std::vector<std::string>& args, Actions& a) override { return step("mail " + args[0], a); }
  Verdict on_rcpt(const std::vector<std::string>& args, Actions& a) override { return step("rcpt " + args[0], a); }
  Verdict on_data(Actions& a) override { return step("data", a); }
  Verdict on_header(std::string_view n, std::string_view v, Actions& a) override {
    return step("header " + std::string(n) + ":" + std::string(v), a);
  }
  Verdict on_eoh(Actions& a) override { return step("eoh", a); }
  Verdict on_body(std::string_view chunk, Actions& a) override { return step("body " + std::to_string(chunk.size()), a); }
  Verdict on_eom(Actions& a) override { return step("eom", a); }
  void on_abort() override { s_.calls.push_back("abort"); }
  void on_close() override { s_.calls.push_back("close"); }

 private:
  Verdict step(std::string call, Actions& a) {
    s_.calls.push_back(call);
    return s_.on_step(call, a);
  }
  Script& s_;
};

class ScriptFilter final : public milter::Filter {
 public:
  explicit ScriptFilter(Script& s) : s_(s) {}
  Capabilities capabilities() const override { return s_.caps; }
  std::unique_ptr<milter::Session> open_session() const override { return std::make_unique<ScriptSession>(s_); }

 private:
  Script& s_;
};

Capabilities everything() {
  Capabilities c;
  for (auto* st : {&c.connect, &c.helo, &c.envfrom, &c.envrcpt, &c.data, &c.header, &c.eoh, &c.body}) {
    *st = {true, true};
  }
  c.add_headers = c.change_headers = c.delete_recipients = c.add_recipients = true;
  return c;
}

const char* kMessage = "Subject: hi\nX-Folded: a\n\tb\n\nline1\nline2\n";

class DriverTest : public ::testing::Test {
 protected:
  void SetUp() override { log::init("postern-test", log::Sink::none); }
  Script script;
};

TEST_F(DriverTest, FullSequenceInPostfixOrder) {
  script.caps = everything();
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  Envelope env;
  env.recipients = {"<a@example.com>", "<b@example.com>"};
  auto r = d.run(env, kMessage);
  std::vector<std::string> expected = {
      "connect 192.0.2.7", "helo mail.example.org", "mail <sender@example.org>", "rcpt <a@example.com>",
      "rcpt <b@example.com>", "data", "header Subject: hi", "header X-Folded: a\n\tb", "eoh",
      "body 14", "eom", "close"};
  EXPECT_EQ(script.calls, expected);
  EXPECT_EQ(r.verdict.status, Status::proceed);
  EXPECT_EQ(r.accepted_recipients.size(), 2u);
}

TEST_F(DriverTest, OnlyNegotiatedStepsAreCalled) {
  script.caps = Capabilities{};
  script.caps.envrcpt = {true, false};
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  d.run(Envelope{}, kMessage);
  std::vector<std::string> expected = {"rcpt <rcpt@example.com>", "eom", "close"};
  EXPECT_EQ(script.calls, expected);
}

TEST_F(DriverTest, NullHostAddress) {
  script.caps = everything();
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  Envelope env;
  env.client_address = std::nullopt;
  d.run(env, kMessage);
  EXPECT_EQ(script.calls.front(), "connect null");
}

TEST_F(DriverTest, CloseOnlyConnection) {
  script.caps = everything();
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  d.open(Envelope{});
  d.close();
  d.close();  // a second close must not reach the session again
  EXPECT_EQ(script.calls, std::vector<std::string>{"close"});
}

TEST_F(DriverTest, AbortMidMessageThenAnotherMessage) {
  script.caps = everything();
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  d.open(Envelope{});
  d.connect();
  d.helo();
  d.aborted_message(kMessage, 3);  // mail, rcpt, then one header
  auto r = d.message(kMessage);
  d.close();
  EXPECT_EQ(r.verdict.status, Status::proceed);
  auto abort_at = std::find(script.calls.begin(), script.calls.end(), "abort");
  ASSERT_NE(abort_at, script.calls.end());
  EXPECT_EQ(*(abort_at - 1), "header Subject: hi");
  EXPECT_EQ(*(abort_at + 1), "mail <sender@example.org>");
  EXPECT_EQ(script.calls.back(), "close");
}

TEST_F(DriverTest, SeveralMessagesOnOneConnection) {
  script.caps = everything();
  int eoms = 0;
  script.on_step = [&](std::string_view step, Actions& a) {
    if (step == "eom") {
      a.add_header("X-Count", std::to_string(++eoms));
    }
    return Verdict::proceed();
  };
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  d.open(Envelope{});
  d.connect();
  d.helo();
  auto r1 = d.message(kMessage);
  auto r2 = d.message(kMessage);
  d.close();
  EXPECT_EQ(r1.transcript.front(), R"(add_header "X-Count" "1")");
  EXPECT_EQ(r2.transcript.front(), R"(add_header "X-Count" "2")");
}

TEST_F(DriverTest, RejectAtRcptRefusesOnlyThatRecipient) {
  script.caps = everything();
  script.on_step = [](std::string_view step, Actions&) {
    return step == "rcpt <bad@example.com>" ? Verdict::reject("550", "5.1.1", "no such user") : Verdict::proceed();
  };
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  Envelope env;
  env.recipients = {"<bad@example.com>", "<good@example.com>"};
  auto r = d.run(env, kMessage);
  EXPECT_EQ(r.verdict.status, Status::proceed);
  EXPECT_EQ(r.accepted_recipients, std::vector<std::string>{"<good@example.com>"});
}

TEST_F(DriverTest, RejectAtHeaderEndsMessageWithAbort) {
  script.caps = everything();
  script.on_step = [](std::string_view step, Actions&) {
    return step.starts_with("header Subject") ? Verdict::reject("554", "5.7.1", "bad subject") : Verdict::proceed();
  };
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  auto r = d.run(Envelope{}, kMessage);
  EXPECT_EQ(r.verdict.status, Status::reject);
  EXPECT_EQ(r.failed_step, "header");
  EXPECT_EQ(script.calls[script.calls.size() - 2], "abort");
  EXPECT_EQ(r.transcript.back(), "result: reject 554 5.7.1 bad subject");
}

TEST_F(DriverTest, NoReplyStepDefersItsVerdictToNextReply) {
  script.caps = everything();
  script.caps.header = {true, false};  // negotiated no-reply
  script.on_step = [](std::string_view step, Actions&) -> Verdict {
    if (step.starts_with("header Subject")) throw std::runtime_error("parse failure");
    return Verdict::proceed();
  };
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  auto r = d.run(Envelope{}, kMessage);
  EXPECT_EQ(r.verdict.status, Status::tempfail);
  EXPECT_EQ(r.failed_step, "eoh");
  // Once a failure is pending the session is not called again for the message.
  EXPECT_EQ(std::count(script.calls.begin(), script.calls.end(), "eoh"), 0);
}

TEST_F(DriverTest, ExceptionAtEomTempfails) {
  script.caps = everything();
  script.on_step = [](std::string_view step, Actions&) -> Verdict {
    if (step == "eom") throw std::runtime_error("crypto failed");
    return Verdict::proceed();
  };
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  auto r = d.run(Envelope{}, kMessage);
  EXPECT_EQ(r.verdict.status, Status::tempfail);
  ASSERT_TRUE(r.verdict.reply.has_value());
  EXPECT_EQ(r.verdict.reply->code, "451");
}

TEST_F(DriverTest, ModificationOutsideEomIsAnInternalError) {
  script.caps = everything();
  script.on_step = [](std::string_view step, Actions& a) {
    if (step == "eoh") a.add_header("X-Too-Early", "1");
    return Verdict::proceed();
  };
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  auto r = d.run(Envelope{}, kMessage);
  EXPECT_EQ(r.verdict.status, Status::tempfail);
  EXPECT_EQ(r.failed_step, "eoh");
}

TEST_F(DriverTest, MacrosFollowPostfixStages) {
  script.caps = everything();
  std::map<std::string, std::optional<std::string>> seen;
  script.on_step = [&](std::string_view step, Actions& a) {
    if (step.starts_with("connect")) seen["connect:{daemon_name}"] = a.macro("{daemon_name}");
    if (step.starts_with("connect")) seen["connect:{auth_authen}"] = a.macro("{auth_authen}");
    if (step.starts_with("mail")) seen["mail:{auth_authen}"] = a.macro("{auth_authen}");
    if (step.starts_with("mail")) seen["mail:i"] = a.macro("i");
    if (step == "eom") seen["eom:i"] = a.macro("i");
    if (step == "eom") seen["eom:{daemon_name}"] = a.macro("{daemon_name}");
    if (step == "eom") seen["eom:{client_addr}"] = a.macro("{client_addr}");
    return Verdict::proceed();
  };
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  Envelope env;
  env.macros = {{"{daemon_name}", "smtpd"}, {"{auth_authen}", "alice"}, {"i", "4QXYZ"}, {"{client_addr}", "192.0.2.7"}};
  d.run(env, kMessage);
  EXPECT_EQ(seen["connect:{daemon_name}"], "smtpd");
  EXPECT_EQ(seen["connect:{auth_authen}"], std::nullopt);  // not sent before MAIL
  EXPECT_EQ(seen["mail:{auth_authen}"], "alice");
  EXPECT_EQ(seen["eom:i"], "4QXYZ");
  EXPECT_EQ(seen["eom:{daemon_name}"], "smtpd");          // earlier stages stay visible
  EXPECT_EQ(seen["eom:{client_addr}"], std::nullopt);     // not in Postfix's default list
}

TEST_F(DriverTest, FilterMacroListReplacesDefault) {
  script.caps = everything();
  script.caps.macros[Stage::connect] = {"{client_addr}"};
  std::optional<std::string> addr, daemon;
  script.on_step = [&](std::string_view step, Actions& a) {
    if (step.starts_with("connect")) {
      addr = a.macro("{client_addr}");
      daemon = a.macro("{daemon_name}");
    }
    return Verdict::proceed();
  };
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  Envelope env;
  env.macros = {{"{daemon_name}", "smtpd"}, {"{client_addr}", "192.0.2.7"}};
  d.run(env, kMessage);
  EXPECT_EQ(addr, "192.0.2.7");
  EXPECT_EQ(daemon, std::nullopt);
}

TEST(SplitMessage, HeadersBodyAndLineEnds) {
  auto s = split_message("A: 1\r\nB:2\r\n folded\r\n\r\nbody\nmore\r\n", true);
  ASSERT_EQ(s.headers.size(), 2u);
  EXPECT_EQ(s.headers[0], (std::pair<std::string, std::string>{"A", " 1"}));
  EXPECT_EQ(s.headers[1], (std::pair<std::string, std::string>{"B", "2\n folded"}));
  EXPECT_EQ(s.body, "body\r\nmore\r\n");
  auto no_space = split_message("A:   1\n\n", false);
  EXPECT_EQ(no_space.headers[0].second, "1");
}

TEST(SplitMessage, NonHeaderLineStartsBody) {
  auto s = split_message("A: 1\nnot a header\nB: 2\n", true);
  ASSERT_EQ(s.headers.size(), 1u);
  EXPECT_EQ(s.body, "not a header\r\nB: 2\r\n");
}

TEST(SplitMessage, BodyOverOneChunkIsSplit) {
  Script script;
  script.caps = everything();
  MilterDriver d(std::make_shared<ScriptFilter>(script));
  std::string big = "Subject: x\n\n" + std::string(70000, 'a');
  d.run(Envelope{}, big);
  EXPECT_NE(std::find(script.calls.begin(), script.calls.end(), "body 65535"), script.calls.end());
  EXPECT_NE(std::find(script.calls.begin(), script.calls.end(), "body 4465"), script.calls.end());
}

}  // namespace
}  // namespace postern::testing
