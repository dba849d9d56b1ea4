#include "postern/ctl/policy_commands.hpp"

#include <gmock/gmock.h>

#include "postern/keystore/key_store.hpp"
#include "postern/testing/test_pki.hpp"
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
  EXPECT_THAT(r.out, HasSubstr("{\"condition\":\"subject_contains: viagra\",\"depth\":0,\"matched\":false,\"failed\":false,"
                               "\"seen\":\"hello\"}"));
  EXPECT_THAT(r.out, HasSubstr("\"groups\":[{\"recipients\":[\"b@partner.example\"],\"encrypt\":\"pgp\",\"fallback\":\"bounce\","
                               "\"cipher\":\"auto\",\"sign\":true,\"decrypt\":false,\"verify\":false,"
                               "\"remove_signature\":false,\"revocation\":\"inherit\",\"security_tags\":{\"decrypted\":\"\","
                               "\"signed\":\"\",\"invalid\":\"\"},\"send_keys\":\"none\",\"incamail\":\"none\",\"add_headers\":[],"
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

// Lookups: without --assume they fail and the recipient tempfails; with it
// the answers show in the trace. --json carries the same.
class ExplainLookups : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = dir_.write("p.yaml",
                         "groups: {crypto: 'cn=crypto,dc=example,dc=org'}\n"
                         "rules:\n"
                         "  - name: crypto-users\n    when: {sender_member_of: crypto, key_available: smime}\n"
                         "    actions: [{encrypt: smime}, {forward: audit@example.org}]\n"
                         "  - name: dept\n    when: {sender_attribute: {attribute: department, value: sales}}\n"
                         "    actions: [{alert: {to: admin@example.org, text: sales mail}}]\n");
    message_ = dir_.write("m.eml", "Subject: hello\r\n\r\nbody\r\n");
  }
  TempDir dir_;
  std::string policy_;
  std::string message_;
};

TEST_F(ExplainLookups, WithoutAnswersTheRecipientTempfails) {
  const auto r = run({"policy", "explain", "-c", policy_, "--from", "alice@example.org", "--rcpt", "b@partner.example",
                      message_});
  EXPECT_EQ(r.status, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("rule 'crypto-users' (" + policy_ + ":3:5): lookup failed, tempfail\n"
                               "    FAIL {sender_member_of: crypto, key_available: smime}\n"
                               "      FAIL sender_member_of: crypto   [seen: lookup failed: no directory configured]\n"));
  EXPECT_THAT(r.out, HasSubstr("rule 'dept' (" + policy_ + ":6:5): not evaluated, tempfail at 'crypto-users'\n"));
  EXPECT_THAT(r.out, HasSubstr("  => tempfail by 'crypto-users': lookup failed: no directory configured\n"));
}

TEST_F(ExplainLookups, AssumedAnswersShowInTheTrace) {
  const std::string assume = dir_.write("assume.yaml",
                                        "directory:\n"
                                        "  Alice@Example.org: {groups: [crypto], attributes: {department: [Sales]}}\n"
                                        "keys:\n  b@partner.example: [smime]\n");
  const auto r = run({"policy", "explain", "-c", policy_, "--assume", assume, "--from", "alice@example.org", "--rcpt",
                      "b@partner.example", message_});
  EXPECT_EQ(r.status, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("      yes  sender_member_of: crypto   [seen: alice@example.org in crypto: yes]\n"));
  EXPECT_THAT(r.out, HasSubstr("      yes  key_available: smime   [seen: smime-encrypt key of b@partner.example: yes]\n"));
  EXPECT_THAT(r.out, HasSubstr("    yes  sender_attribute: {attribute: department, value: sales}   "
                               "[seen: department of alice@example.org: [Sales]]\n"));
  EXPECT_THAT(r.out, HasSubstr("  => accept\n  plan: encrypt=smime fallback=bounce\n"
                               "  also: forward=audit@example.org alert=admin@example.org\n"));

  const auto j = run({"policy", "explain", "-c", policy_, "--assume", assume, "--from", "alice@example.org", "--rcpt",
                      "b@partner.example", "--json", message_});
  EXPECT_THAT(j.out, HasSubstr("{\"condition\":\"sender_member_of: crypto\",\"depth\":1,\"matched\":true,"
                               "\"failed\":false,\"seen\":\"alice@example.org in crypto: yes\"}"));
  EXPECT_THAT(j.out, HasSubstr("\"forward_to\":[\"audit@example.org\"]"));
  EXPECT_THAT(j.out, HasSubstr("\"notices\":[{\"kind\":\"alert\",\"to\":[\"admin@example.org\"],"
                               "\"text\":\"sales mail\",\"rule\":\"dept\"}]"));
}

TEST_F(ExplainLookups, UnreachableDirectoryTempfailsInJson) {
  const std::string assume = dir_.write("down.yaml", "unreachable: [directory]\n");
  const auto r = run({"policy", "explain", "-c", policy_, "--assume", assume, "--from", "alice@example.org", "--rcpt",
                      "b@partner.example", "--json", message_});
  EXPECT_EQ(r.status, kExitOk) << r.err;
  // crypto-users: no key, so the rule does not match whatever the
  // directory would say; dept depends on the directory alone and fails.
  EXPECT_THAT(r.out, HasSubstr("{\"condition\":\"sender_member_of: crypto\",\"depth\":1,\"matched\":false,"
                               "\"failed\":true,\"seen\":\"lookup failed: member_of crypto: directory unreachable "
                               "(assumed)\"}"));
  EXPECT_THAT(r.out, HasSubstr("\"disposition\":\"tempfail\",\"text\":\"lookup failed: department of alice@example.org: "
                               "directory unreachable (assumed)\",\"decided_by\":\"dept\""));
  EXPECT_THAT(r.out, HasSubstr("{\"name\":\"dept\",\"location\":\"" + policy_ +
                               ":6:5\",\"evaluated\":true,\"matched\":false,\"failed\":true"));
  EXPECT_THAT(r.out, HasSubstr("\"groups\":[]"));
}

TEST_F(ExplainLookups, BadAssumeFileExitsTwo) {
  const std::string assume = dir_.write("bad.yaml", "keys:\n  b@partner.example: [x509]\n");
  const auto r = run({"policy", "explain", "-c", policy_, "--assume", assume, "--from", "a@example.org", "--rcpt",
                      "b@partner.example", message_});
  EXPECT_EQ(r.status, kExitError);
  EXPECT_THAT(r.err, HasSubstr(assume + ":2:22: a key is smime or pgp, not 'x509'"));
}

// --milter-config: the lookups ask what postern-policy's config names, a
// real key store here (with a TestPki certificate for b@partner.example) and
// a directory that refuses connections.
TEST_F(ExplainLookups, MilterConfigAsksTheMiltersKeyStoreAndDirectory) {
  postern::testing::TestPki pki;
  auto bob = pki.issue({.common_name = "B", .emails = {"b@partner.example"}});
  const std::string store_dir = dir_.path("store");
  {
    keystore::KeyStore store(store_dir);
    store.create_layout();
    keystore::ImportOptions anchor;
    anchor.anchor = true;
    store.import_bytes(pki.root().pem(), anchor);
    store.import_bytes(pki.intermediate().pem(), {});
    store.import_bytes(bob.pem(), {});
  }
  const std::string config = dir_.write("policy.yaml", "policy: {rules: " + policy_ + "}\n" +
                                                           "keystore: {root: " + store_dir + "}\n" +
                                                           "ldap: {uris: ['ldap://127.0.0.1:1'], base_dn: 'dc=example,dc=org', timeout: 1s}\n");
  const auto r = run({"policy", "explain", "--milter-config", config, "--from", "alice@example.org", "--rcpt",
                      "b@partner.example", message_});
  EXPECT_EQ(r.status, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("policy: " + policy_ + "\n"));
  EXPECT_THAT(r.out, HasSubstr("      yes  key_available: smime   [seen: smime-encrypt key of b@partner.example: yes]\n"));
  EXPECT_THAT(r.out, HasSubstr("FAIL sender_member_of: crypto   [seen: lookup failed: "));
  EXPECT_THAT(r.out, Not(HasSubstr("no directory configured")));

  const auto other = run({"policy", "explain", "--milter-config", config, "--from", "alice@example.org", "--rcpt",
                          "c@partner.example", message_});
  EXPECT_THAT(other.out, HasSubstr("      no   key_available: smime   [seen: smime-encrypt key of c@partner.example: no"));
}

TEST(PolicyDump, PrintsTheEffectivePolicy) {
  TempDir dir;
  dir.write("d/10.yaml", "rules:\n  - {name: later, actions: [verify]}\n");
  dir.write("vip.txt", "boss@example.org\n");
  const std::string main = dir.write("p.yaml",
                                     "lists: {vip: {file: vip.txt}}\ninclude: d\n"
                                     "rules:\n  - {name: first, when: {sender: 'list:vip'}, actions: [sign]}\n");
  const auto r = run({"policy", "dump", main});
  EXPECT_EQ(r.status, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("lists:\n  vip: [boss@example.org]\n"));
  EXPECT_THAT(r.out, HasSubstr("  # " + main + ":4:5\n  - name: first\n    when: {sender: 'list:vip'}\n"
                               "    actions:\n      - sign\n"));
  EXPECT_THAT(r.out, HasSubstr("  - name: later\n"));
  EXPECT_EQ(run({"policy", "dump", dir.write("bad.yaml", "rules: [1]\n")}).status, kExitFailed);
  EXPECT_EQ(run({"policy", "dump", "a", "b"}).status, kExitUsage);
}

TEST(PolicyReference, PrintsTheTables) {
  const auto r = run({"policy", "reference"});
  EXPECT_EQ(r.status, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("| `recipient` |"));
  EXPECT_THAT(r.out, HasSubstr("| `encrypt` |"));
}

}  // namespace
}  // namespace postern::ctl
