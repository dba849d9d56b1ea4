#include "postern/ctl/policy_commands.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "temp_dir.hpp"

namespace postern::ctl {
namespace {

using ::testing::HasSubstr;
using policy::testing::TempDir;

struct Run {
  int status;
  std::string out;
  std::string err;
};

Run run(const std::vector<std::string>& args) {
  Dispatcher d("posternctl");
  add_policy_commands(d);
  std::ostringstream out, err;
  const int status = d.run(args, out, err);
  return {status, out.str(), err.str()};
}

TEST(PolicyCheck, CleanFileIsQuietAndExitsZero) {
  TempDir dir;
  const auto r = run({"policy", "check", dir.write("p.yaml", "rules:\n  - {name: a, actions: [sign]}\n")});
  EXPECT_EQ(r.status, kExitOk);
  EXPECT_EQ(r.out, "");
}

TEST(PolicyCheck, OneLinePerProblemAcrossFiles) {
  TempDir dir;
  const auto bad = dir.write("bad.yaml", "rules:\n  - {name: a, actions: [sing]}\n  - {name: b, when: {x: 1}, stop: true}\n");
  const auto warn = dir.write("warn.yaml", "rules:\n  - {name: a, stop: true}\n  - {name: b, actions: [sign]}\n");
  const auto r = run({"policy", "check", bad, warn});
  EXPECT_EQ(r.status, kExitFailed);
  std::istringstream lines(r.out);
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  ASSERT_EQ(got.size(), 3u) << r.out;
  EXPECT_THAT(got[0], HasSubstr(bad + ":2:25: unknown action 'sing'"));
  EXPECT_THAT(got[1], HasSubstr(bad + ":3:22: unknown condition 'x'"));
  EXPECT_THAT(got[2], HasSubstr(warn + ":3:5: warning: rule 'b' is unreachable"));
}

TEST(PolicyCheck, WarningsAloneExitZero) {
  TempDir dir;
  const auto r = run({"policy", "check", dir.write("w.yaml", "rules:\n  - {name: a, stop: true}\n  - {name: b, stop: true}\n")});
  EXPECT_EQ(r.status, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("warning: rule 'b' is unreachable"));
}

TEST(PolicyCheck, NoFileIsAUsageError) { EXPECT_EQ(run({"policy", "check"}).status, kExitUsage); }

struct UsageCase {
  const char* label;
  std::vector<std::string> args;
  const char* message;
};

class ExplainUsage : public ::testing::TestWithParam<UsageCase> {};

TEST_P(ExplainUsage, IsRefused) {
  try {
    parse_explain_options(GetParam().args);
    FAIL() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr(GetParam().message));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExplainUsage,
    ::testing::Values(UsageCase{"no_from", {"--rcpt", "a@b", "m.eml"}, "--from is missing"},
                      UsageCase{"no_rcpt", {"--from", "a@b", "m.eml"}, "--rcpt is missing"},
                      UsageCase{"no_message", {"--from", "a@b", "--rcpt", "c@d"}, "MESSAGE is missing"},
                      UsageCase{"two_messages", {"--from", "a@b", "--rcpt", "c@d", "m1", "m2"}, "more than one MESSAGE"},
                      UsageCase{"bad_ip", {"--from", "a@b", "--rcpt", "c@d", "--client-ip", "300.1.1.1", "m"}, "not an IP"},
                      UsageCase{"bad_tls", {"--from", "a@b", "--rcpt", "c@d", "--tls", "TLSv1.3", "m"}, "VERSION:BITS"},
                      UsageCase{"bad_bits", {"--from", "a@b", "--rcpt", "c@d", "--tls", "TLSv1.3:x", "m"}, "VERSION:BITS"},
                      UsageCase{"unknown", {"--from", "a@b", "--bogus", "1"}, "unknown option --bogus"},
                      UsageCase{"dangling", {"--from"}, "--from needs a value"}),
    [](const auto& case_info) { return std::string(case_info.param.label); });

TEST(PolicyExplain, ParsesEveryOption) {
  const auto o = parse_explain_options({"-c", "p.yaml", "--from=<>", "--rcpt", "a@b", "--rcpt", "c@d", "--client-ip",
                                        "192.0.2.1", "--auth", "u", "--listener", "submission", "--tls", "TLSv1.3:256",
                                        "--json", "m.eml"});
  EXPECT_EQ(o.policy_file, "p.yaml");
  EXPECT_EQ(o.envelope.sender, "<>");
  EXPECT_EQ(o.envelope.recipients, (std::vector<std::string>{"a@b", "c@d"}));
  EXPECT_EQ(o.envelope.client_address->to_string(), "192.0.2.1");
  EXPECT_EQ(o.envelope.auth_user, "u");
  EXPECT_EQ(o.envelope.listener, "submission");
  EXPECT_EQ(o.envelope.tls_version, "TLSv1.3");
  EXPECT_EQ(o.envelope.tls_cipher_bits, 256);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.message_file, "m.eml");
}

class ExplainRun : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = dir_.write("p.yaml",
                         "rules:\n"
                         "  - name: spam\n    when: {subject_contains: viagra}\n    actions: [{reject: no}]\n    stop: true\n"
                         "  - name: partners\n    when: {recipient: '@partner.example'}\n"
                         "    actions: [{encrypt: pgp}, sign]\n"
                         "  - name: tag\n    when: {not: {tls: true}}\n    actions: [{subject_tag: '[plain]'}]\n");
    message_ = dir_.write("m.eml", "Subject: hello\r\n\r\nbody\r\n");
  }
  TempDir dir_;
  std::string policy_;
  std::string message_;
};

TEST_F(ExplainRun, TextShowsEachRuleConditionAndPlan) {
  const auto r = run({"policy", "explain", "-c", policy_, "--from", "a@example.org", "--rcpt", "b@partner.example",
                      "--rcpt", "c@other.example", message_});
  EXPECT_EQ(r.status, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("direction: inbound (default)"));
  EXPECT_THAT(r.out, HasSubstr("recipient b@partner.example\n  rule 'spam' (" + policy_ +
                               ":2:5): did not match\n    no   subject_contains: viagra   [seen: hello]\n"));
  EXPECT_THAT(r.out, HasSubstr("    yes  recipient: '@partner.example'   [seen: b@partner.example]\n"));
  EXPECT_THAT(r.out, HasSubstr("    yes  not: {tls: true}\n      no   tls: true   [seen: none]\n"));
  EXPECT_THAT(r.out, HasSubstr("  => accept\n  plan: encrypt=pgp fallback=bounce sign subject_tag=[plain]\n"));
  EXPECT_THAT(r.out, HasSubstr("  b@partner.example: encrypt=pgp fallback=bounce sign subject_tag=[plain]\n"
                               "  c@other.example: subject_tag=[plain]\n"));
}

TEST_F(ExplainRun, StopIsShown) {
  const std::string spam = dir_.write("spam.eml", "Subject: cheap VIAGRA\r\n\r\nx\r\n");
  const auto r = run({"policy", "explain", "-c", policy_, "--from", "a@b.org", "--rcpt", "b@partner.example", spam});
  EXPECT_THAT(r.out, HasSubstr("matched, stop\n"));
  EXPECT_THAT(r.out, HasSubstr("rule 'partners' (" + policy_ + ":6:5): not evaluated, stopped by 'spam'\n"));
  EXPECT_THAT(r.out, HasSubstr("  => reject by 'spam': no\n"));
  EXPECT_THAT(r.out, HasSubstr("groups (accepted recipients with the same plan):\n  none\n"));
}

TEST_F(ExplainRun, JsonCarriesTheSameFacts) {
  const auto r = run({"policy", "explain", "-c", policy_, "--from", "a@example.org", "--rcpt", "b@partner.example",
                      "--tls", "TLSv1.3:256", "--json", message_});
  EXPECT_EQ(r.status, kExitOk) << r.err;
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_THAT(r.out, HasSubstr("\"direction\":\"inbound\""));
  EXPECT_THAT(r.out, HasSubstr("{\"condition\":\"subject_contains: viagra\",\"depth\":0,\"matched\":false,\"seen\":\"hello\"}"));
  EXPECT_THAT(r.out, HasSubstr("\"groups\":[{\"recipients\":[\"b@partner.example\"],\"encrypt\":\"pgp\",\"fallback\":\"bounce\","
                               "\"sign\":true,\"decrypt\":false,\"verify\":false,\"incamail\":\"none\",\"add_headers\":[],"
                               "\"remove_headers\":[],\"subject_tag\":\"\"}]"));
}

TEST_F(ExplainRun, BadPolicyOrMessageExitTwo) {
  const std::string bad = dir_.write("bad.yaml", "rules: [1]\n");
  auto r = run({"policy", "explain", "-c", bad, "--from", "a@b.org", "--rcpt", "c@d.org", message_});
  EXPECT_EQ(r.status, kExitError);
  EXPECT_THAT(r.err, HasSubstr(bad + ":1:9: a rule is a mapping"));
  r = run({"policy", "explain", "-c", policy_, "--from", "a@b.org", "--rcpt", "c@d.org", dir_.path("missing.eml")});
  EXPECT_EQ(r.status, kExitError);
  EXPECT_THAT(r.err, HasSubstr("cannot read the message"));
}

TEST(PolicyReference, PrintsTheTables) {
  const auto r = run({"policy", "reference"});
  EXPECT_EQ(r.status, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("| `recipient` |"));
  EXPECT_THAT(r.out, HasSubstr("| `encrypt` |"));
}

}  // namespace
}  // namespace postern::ctl
