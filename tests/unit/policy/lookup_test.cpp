// The conditions and actions added for lookups (directory, key store),
// sniffed attachment types, our own Authentication-Results, and the
// generic actions; tempfail and on_lookup_error; policy dump.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_lookups.hpp"
#include "postern/policy/policy.hpp"
#include "temp_dir.hpp"

namespace postern::policy {
namespace {

using ::testing::HasSubstr;
using testing::FakeDirectory;
using testing::FakeKeys;
using testing::TempDir;

constexpr char kStaff[] = "cn=staff,ou=groups,dc=example,dc=org";
constexpr char kCrypto[] = "cn=crypto,ou=groups,dc=example,dc=org";

// invoice.pdf is really an executable (MZ), photo.png a PNG, report.docx an
// OOXML zip; two Authentication-Results: ours and a forged one.
const char kMessage[] =
    "Authentication-Results: MX.example.org; spf=pass (sender ok) smtp.mailfrom=alice@example.org;\r\n"
    "\tspf=neutral smtp.helo=mail.example.org; senderid=fail header.from=alice@example.org\r\n"
    "Authentication-Results: other.example; spf=fail smtp.mailfrom=alice@example.org\r\n"
    "From: alice@example.org\r\nSubject: Invoice\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext\r\n"
    "--b\r\nContent-Type: application/pdf; name=invoice.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "TVqQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkA==\r\n"
    "--b\r\nContent-Type: image/png; name=photo.png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "iVBORw0KGgoAAAAAAAAAAA==\r\n"
    "--b\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name=report.docx\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
    "UEsDBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAW0NvbnRlbnRfVHlwZXNdLnhtbA==\r\n--b--\r\n";

const char kPlain[] = "From: alice@example.org\r\nSubject: hi\r\n\r\nhello\r\n";

Envelope envelope() {
  Envelope e;
  e.sender = "<alice@example.org>";
  e.recipients = {"<bob@partner.example>"};
  e.client_address = core::IpAddress::parse("192.0.2.7");
  e.listener = "smtpd";
  return e;
}

struct World {
  std::shared_ptr<FakeDirectory> dir = std::make_shared<FakeDirectory>();
  std::shared_ptr<FakeKeys> keys = std::make_shared<FakeKeys>();
  World() {
    dir->groups["alice@example.org"] = {kStaff};
    dir->groups["bob@partner.example"] = {kCrypto};
    dir->attributes["alice@example.org"]["department"] = {"Sales", "EMEA"};
    keys->keys["bob@partner.example"] = {lookup::KeyKind::smime_encrypt};
  }
  Services services() const { return Services{dir, keys}; }
};

constexpr char kHead[] =
    "authserv_id: mx.example.org\n"
    "groups:\n  staff: 'cn=staff,ou=groups,dc=example,dc=org'\n  crypto: 'cn=crypto,ou=groups,dc=example,dc=org'\n"
    "lists:\n  licensed: ['@partner.example']\n"
    "licensed_users: {groups: [staff], lists: [licensed]}\n";

std::string policy_with(const std::string& when, const std::string& extra = "") {
  return std::string(kHead) + extra + "rules:\n  - name: probe\n    when: " + when + "\n    actions: [sign]\n";
}

// ---- every new condition, matching and not ----

struct Case {
  const char* label;
  const char* when;
  const char* message;
  bool match;
};

class NewConditions : public ::testing::TestWithParam<Case> {};

TEST_P(NewConditions, DecideWhetherTheRuleMatches) {
  TempDir dir;
  World world;
  const auto p = Policy::load(dir.write("policy.yaml", policy_with(GetParam().when)), world.services());
  const Envelope env = envelope();
  const auto facts = MessageFacts::from_message(GetParam().message);
  const Decision d = p->decide(p->subject(env, facts, env.recipients.front()));
  EXPECT_EQ(d.disposition, Disposition::accept) << d.text;
  EXPECT_EQ(d.transforms.sign, GetParam().match);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NewConditions,
    ::testing::Values(
        Case{"sender_member_of", "{sender_member_of: staff}", kPlain, true},
        Case{"sender_member_of_no", "{sender_member_of: crypto}", kPlain, false},
        Case{"recipient_member_of", "{recipient_member_of: [staff, crypto]}", kPlain, true},
        Case{"recipient_member_of_no", "{recipient_member_of: staff}", kPlain, false},
        Case{"sender_attribute", "{sender_attribute: {attribute: department, value: sales}}", kPlain, true},
        Case{"sender_attribute_regex", "{sender_attribute: {attribute: department, value: '/^EM/'}}", kPlain, true},
        Case{"sender_attribute_any", "{sender_attribute: {attribute: department}}", kPlain, true},
        Case{"sender_attribute_no", "{sender_attribute: {attribute: department, value: [it, hr]}}", kPlain, false},
        Case{"recipient_attribute_none", "{recipient_attribute: {attribute: department}}", kPlain, false},
        Case{"licensed_sender_group", "{licensed: sender}", kPlain, true},
        Case{"licensed_recipient_list", "{licensed: recipient}", kPlain, true},
        Case{"licensed_internal_inbound", "{licensed: internal}", kPlain, true},
        Case{"key_available_smime", "{key_available: smime}", kPlain, true},
        Case{"key_available_pgp", "{key_available: pgp}", kPlain, false},
        Case{"key_available_any", "{key_available: any}", kPlain, true},
        Case{"has_attachment", "{has_attachment: true}", kMessage, true},
        Case{"has_attachment_none", "{has_attachment: true}", kPlain, false},
        Case{"has_attachment_false", "{has_attachment: false}", kPlain, true},
        Case{"declared_type", "{attachment_declared_type: 'image/*'}", kMessage, true},
        Case{"declared_type_no", "{attachment_declared_type: application/zip}", kMessage, false},
        Case{"sniffed_exe", "{attachment_sniffed_type: exe}", kMessage, true},
        Case{"sniffed_ooxml", "{attachment_sniffed_type: [ooxml]}", kMessage, true},
        Case{"sniffed_pdf_no", "{attachment_sniffed_type: pdf}", kMessage, false},
        Case{"mismatch", "{attachment_type_mismatch: true}", kMessage, true},
        Case{"mismatch_none", "{attachment_type_mismatch: false}", kPlain, true},
        Case{"spf_ours", "{spf: pass}", kMessage, true},
        Case{"spf_forged_ignored", "{spf: fail}", kMessage, false},
        Case{"spf_absent", "{spf: absent}", kPlain, true},
        Case{"senderid", "{senderid: [fail, softfail]}", kMessage, true},
        Case{"senderid_absent", "{senderid: absent}", kPlain, true},
        // A definite answer decides even when another part would fail.
        Case{"any_with_lookup", "{any: [{tls: false}, {recipient_member_of: staff}]}", kPlain, true}),
    [](const auto& case_info) { return std::string(case_info.param.label); });

// ---- tempfail and on_lookup_error ----

TEST(Lookups, FailureTempfailsTheRecipientWithTheError) {
  TempDir dir;
  World world;
  world.dir->fail_with = "ldap://ldap.example.org: timeout after 5 s";
  const auto p = Policy::load(dir.write("policy.yaml", std::string(kHead) +
                                                           "rules:\n"
                                                           "  - {name: early, actions: [{reject: no}]}\n"
                                                           "  - {name: staff, when: {sender_member_of: staff}, actions: [sign]}\n"
                                                           "  - {name: later, actions: [verify]}\n"),
                              world.services());
  const Envelope env = envelope();
  const auto facts = MessageFacts::from_message(kPlain);
  std::vector<RuleTrace> trace;
  const Decision d = p->decide(p->subject(env, facts, env.recipients.front()), &trace);
  EXPECT_EQ(d.disposition, Disposition::tempfail);  // above the earlier reject
  EXPECT_EQ(d.decided_by, "staff");
  EXPECT_EQ(d.text, "lookup failed: member_of staff: ldap://ldap.example.org: timeout after 5 s");
  ASSERT_EQ(trace.size(), 3u);
  EXPECT_TRUE(trace[1].failed);
  ASSERT_EQ(trace[1].conditions.size(), 1u);
  EXPECT_TRUE(trace[1].conditions[0].failed);
  EXPECT_THAT(trace[1].conditions[0].seen, HasSubstr("lookup failed"));
  EXPECT_FALSE(trace[2].evaluated);
  EXPECT_FALSE(d.transforms.verify);

  const auto m = p->decide_message(env, facts);
  EXPECT_EQ(m.strongest, Disposition::tempfail);
  EXPECT_TRUE(m.groups.empty());
}

TEST(Lookups, ContinueCountsTheFailedConditionAsFalse) {
  TempDir dir;
  World world;
  world.keys->fail_with = "key store unreadable";
  const auto p = Policy::load(
      dir.write("policy.yaml", policy_with("{not: {key_available: smime}}", "on_lookup_error: continue\n")),
      world.services());
  const Envelope env = envelope();
  const auto facts = MessageFacts::from_message(kPlain);
  std::vector<RuleTrace> trace;
  const Decision d = p->decide(p->subject(env, facts, env.recipients.front()), &trace);
  EXPECT_EQ(d.disposition, Disposition::accept);
  EXPECT_TRUE(d.transforms.sign);  // not(false)
  ASSERT_EQ(trace[0].conditions.size(), 2u);
  EXPECT_FALSE(trace[0].conditions[1].failed);
  EXPECT_THAT(trace[0].conditions[1].seen, HasSubstr("counted as false (on_lookup_error: continue)"));
}

TEST(Lookups, WithoutServicesLookupsFail) {
  TempDir dir;
  const auto p = Policy::load(dir.write("policy.yaml", policy_with("{recipient_member_of: crypto}")));
  const Envelope env = envelope();
  const auto facts = MessageFacts::from_message(kPlain);
  const Decision d = p->decide(p->subject(env, facts, env.recipients.front()));
  EXPECT_EQ(d.disposition, Disposition::tempfail);
  EXPECT_EQ(d.text, "lookup failed: no directory configured");
}

// Three-valued logic: all with a definite no is no; any with only a
// failure and a no is failed.
TEST(Lookups, CombinationsPropagateFailureOnlyWhenItDecides) {
  TempDir dir;
  World world;
  world.dir->fail_with = "down";
  const Envelope env = envelope();
  const auto facts = MessageFacts::from_message(kPlain);
  for (const auto& [when, expected] : std::vector<std::pair<std::string, Disposition>>{
           {"{all: [{tls: true}, {sender_member_of: staff}]}", Disposition::accept},
           {"{any: [{tls: true}, {sender_member_of: staff}]}", Disposition::tempfail},
           {"{not: {sender_member_of: staff}}", Disposition::tempfail},
           {"{sender: nobody@example.org, sender_member_of: staff}", Disposition::accept}}) {
    const auto p = Policy::load(dir.write("policy.yaml", policy_with(when)), world.services());
    EXPECT_EQ(p->decide(p->subject(env, facts, env.recipients.front())).disposition, expected) << when;
  }
}

TEST(Lookups, TraceShowsTheAnswers) {
  TempDir dir;
  World world;
  const auto p = Policy::load(
      dir.write("policy.yaml", policy_with("{sender_member_of: [crypto, staff], sender_attribute: {attribute: department}}")),
      world.services());
  const Envelope env = envelope();
  const auto facts = MessageFacts::from_message(kPlain);
  std::vector<RuleTrace> trace;
  p->decide(p->subject(env, facts, env.recipients.front()), &trace);
  ASSERT_EQ(trace[0].conditions.size(), 3u);
  EXPECT_EQ(trace[0].conditions[1].seen, "alice@example.org in crypto: no; alice@example.org in staff: yes");
  EXPECT_EQ(trace[0].conditions[2].seen, "department of alice@example.org: [Sales, EMEA]");
}

// decide_message() evaluates recipient-independent rules once per message:
// the result must equal deciding each recipient alone, failures included.
TEST(Lookups, MessageDecisionEqualsPerRecipientDecisions) {
  TempDir dir;
  World world;
  Envelope env = envelope();
  env.recipients = {"<bob@partner.example>", "<carol@example.org>", "<dave@partner.example>"};
  const auto facts = MessageFacts::from_message(kMessage);
  for (const bool down : {false, true}) {
    world.dir->fail_with = down ? "down" : "";
    const auto p = Policy::load(dir.write("policy.yaml", std::string(kHead) +
                                                             "rules:\n"
                                                             "  - {name: a, when: {spf: pass, has_attachment: true}, actions: [sign]}\n"
                                                             "  - {name: b, when: {recipient: '@partner.example'}, actions: [verify]}\n"
                                                             "  - {name: c, when: {sender_member_of: staff}, actions: [decrypt]}\n"
                                                             "  - {name: d, when: {recipient_member_of: crypto}, actions: [{reject: x}]}\n"
                                                             "  - {name: e, when: {recipient: '@partner.example', subject_contains: invoice}, actions: [{subject_tag: '[i]'}]}\n"
                                                             "  - {name: f, when: {recipient: '@partner.example', priority: low}, actions: [{subject_tag: '[l]'}]}\n"
                                                             "  - {name: g, when: {sender_member_of: staff, recipient: carol@example.org}, actions: [{hold: h}]}\n"),
                                world.services());
    const auto m = p->decide_message(env, facts);
    ASSERT_EQ(m.recipients.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
      const Decision alone = p->decide(p->subject(env, facts, env.recipients[i]));
      const Decision& together = m.recipients[i].decision;
      EXPECT_EQ(together.disposition, alone.disposition) << i << down;
      EXPECT_EQ(together.text, alone.text) << i << down;
      EXPECT_EQ(together.matched_rules, alone.matched_rules) << i << down;
      EXPECT_EQ(together.transforms, alone.transforms) << i << down;
    }
    EXPECT_EQ(m.recipients[1].decision.disposition, down ? Disposition::tempfail : Disposition::hold);
    if (!down) {
      EXPECT_EQ(m.recipients[2].decision.transforms.subject_tag, "[i]");
    }
    EXPECT_EQ(m.recipients[0].decision.disposition, down ? Disposition::tempfail : Disposition::reject);
  }
}

// ---- the generic actions ----

TEST(Actions, GenericActionsAccumulate) {
  TempDir dir;
  const auto p = Policy::load(dir.write(
      "policy.yaml",
      "rules:\n"
      "  - name: one\n"
      "    actions:\n"
      "      - change_header: {name: X-Class, value: internal}\n"
      "      - acknowledge: \"We received your message.\\nThank you.\"\n"
      "      - alert: {to: [admin@example.org, '<sec@example.org>'], text: look}\n"
      "      - generate_keys\n"
      "      - redirect: archive@example.org\n"
      "      - forward: [audit@example.org, audit@example.org]\n"
      "  - name: two\n"
      "    actions:\n"
      "      - alert: {to: admin@example.org, text: look}\n"
      "      - redirect: [archive@example.org, legal@example.org]\n"
      "      - {bounce: not here}\n"));
  const Envelope env = envelope();
  const auto facts = MessageFacts::from_message(kPlain);
  const Decision d = p->decide(p->subject(env, facts, env.recipients.front()));
  EXPECT_EQ(d.disposition, Disposition::reject);
  EXPECT_EQ(d.text, "not here");
  EXPECT_EQ(d.transforms.remove_headers, std::vector<std::string>{"X-Class"});
  ASSERT_EQ(d.transforms.add_headers.size(), 1u);
  EXPECT_EQ(d.transforms.add_headers[0].value, "internal");
  ASSERT_EQ(d.notices.size(), 3u);
  EXPECT_EQ(d.notices[0].kind, Notice::Kind::acknowledge);
  EXPECT_EQ(d.notices[0].text, "We received your message.\nThank you.");
  EXPECT_EQ(d.notices[1].to, (std::vector<std::string>{"admin@example.org", "sec@example.org"}));
  EXPECT_EQ(d.notices[2].rule, "two");
  EXPECT_TRUE(d.generate_keys);
  EXPECT_EQ(d.redirect_to, (std::vector<std::string>{"archive@example.org", "legal@example.org"}));
  EXPECT_EQ(d.forward_to, std::vector<std::string>{"audit@example.org"});
}

TEST(Actions, CryptoOptionsGoIntoThePlanFirstRuleWins) {
  TempDir dir;
  const auto p = Policy::load(dir.write(
      "policy.yaml",
      "rules:\n"
      "  - name: one\n"
      "    actions:\n"
      "      - encrypt: {method: smime, fallback: hold, cipher: gcm}\n"
      "      - verify\n"
      "      - revocation: hard_fail\n"
      "      - security_tag: {signed: '[signed]', invalid: '[bad signature]'}\n"
      "  - name: two\n"
      "    actions:\n"
      "      - encrypt: {method: smime, cipher: cbc}\n"
      "      - verify: {signature: remove}\n"
      "      - revocation: off\n"
      "      - security_tag: {decrypted: '[decrypted]'}\n"));
  const Envelope env = envelope();
  const auto facts = MessageFacts::from_message(kPlain);
  const Decision d = p->decide(p->subject(env, facts, env.recipients.front()));
  EXPECT_EQ(d.transforms.cipher, plan::ContentCipher::gcm);
  EXPECT_EQ(d.transforms.fallback, plan::EncryptFallback::hold);
  EXPECT_TRUE(d.transforms.verify);
  EXPECT_TRUE(d.transforms.remove_signature);  // any rule asking to remove it
  EXPECT_EQ(d.transforms.revocation, plan::Revocation::hard_fail);
  EXPECT_EQ(d.transforms.security_tags, (plan::SecurityTags{"", "[signed]", "[bad signature]"}));
}

// ---- new load errors ----

struct ErrorCase {
  const char* label;
  const char* yaml;
  const char* where;
  const char* message;
};

class NewErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(NewErrors, NameFileLineColumn) {
  TempDir dir;
  const std::string path = dir.write("policy.yaml", GetParam().yaml);
  try {
    Policy::load(path);
    FAIL() << "loaded";
  } catch (const core::ConfigError& e) {
    std::string all;
    for (const auto& d : e.diagnostics()) all += d.to_string() + "\n";
    EXPECT_THAT(all, HasSubstr(path + GetParam().where + GetParam().message));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, NewErrors,
    ::testing::Values(
        ErrorCase{"unknown_group", "groups: {staff: 'cn=s'}\nrules:\n  - {name: a, when: {sender_member_of: stuff}, stop: true}\n",
                  ":3:40: ", "unknown group 'stuff'; define it under `groups` (known: staff)"},
        ErrorCase{"group_without_dn", "groups: {staff: ''}\n", ":1:17: ", "group 'staff' needs the directory group"},
        ErrorCase{"bad_group_name", "groups: {'a b': x}\n", ":1:10: ", "group name 'a b'"},
        ErrorCase{"bad_on_lookup_error", "on_lookup_error: ignore\n", ":1:18: ", "on_lookup_error is tempfail or continue"},
        ErrorCase{"spf_without_authserv_id", "rules:\n  - {name: a, when: {spf: fail}, stop: true}\n", ":2:27: ",
                  "spf needs `authserv_id`"},
        ErrorCase{"bad_spf_result", "authserv_id: mx\nrules:\n  - {name: a, when: {spf: failed}, stop: true}\n", ":3:27: ",
                  "'failed' is not one of: pass"},
        ErrorCase{"licensed_unconfigured", "rules:\n  - {name: a, when: {licensed: sender}, stop: true}\n", ":2:32: ",
                  "licensed needs `licensed_users"},
        ErrorCase{"licensed_unknown_group", "licensed_users: {groups: [nope]}\n", ":1:27: ", "unknown group 'nope'"},
        ErrorCase{"licensed_unknown_list", "licensed_users: {lists: [nope]}\n", ":1:26: ", "unknown list 'nope'"},
        ErrorCase{"attribute_needs_name", "rules:\n  - {name: a, when: {sender_attribute: {value: x}}, stop: true}\n",
                  ":2:40: ", "attribute needs a name"},
        ErrorCase{"attribute_bad_regex",
                  "rules:\n  - {name: a, when: {sender_attribute: {attribute: ou, value: '/(/'}}, stop: true}\n", ":2:63: ",
                  "bad regular expression"},
        ErrorCase{"bad_sniffed_type", "rules:\n  - {name: a, when: {attachment_sniffed_type: docx}, stop: true}\n",
                  ":2:47: ", "'docx' is not one of: pdf, ooxml"},
        ErrorCase{"bad_key_kind", "rules:\n  - {name: a, when: {key_available: x509}, stop: true}\n", ":2:37: ",
                  "'x509' is not one of: smime, pgp, any"},
        ErrorCase{"bad_redirect", "rules:\n  - {name: a, actions: [{redirect: 'not an address'}]}\n", ":2:36: ",
                  "not a valid address 'not an address'"},
        ErrorCase{"bad_forward_in_list", "rules:\n  - {name: a, actions: [{forward: [a@b.example, '@c']}]}\n", ":2:49: ",
                  "not a valid address '@c'"},
        ErrorCase{"alert_needs_text", "rules:\n  - {name: a, actions: [{alert: {to: a@b.example}}]}\n", ":2:33: ",
                  "alert needs both to and text"},
        ErrorCase{"alert_unknown_key", "rules:\n  - {name: a, actions: [{alert: {to: a@b.example, txt: x}}]}\n", ":2:51: ",
                  "unknown key 'txt'"},
        ErrorCase{"change_header_reserved", "rules:\n  - {name: a, actions: [{change_header: {name: X-Postern-Plan, value: x}}]}\n",
                  ":2:48: ", "X-Postern-* headers are reserved"},
        ErrorCase{"cipher_for_pgp", "rules:\n  - {name: a, actions: [{encrypt: {method: pgp, cipher: gcm}}]}\n", ":2:35: ",
                  "cipher applies to S/MIME only"},
        ErrorCase{"bad_cipher", "rules:\n  - {name: a, actions: [{encrypt: {method: smime, cipher: des}}]}\n", ":2:59: ",
                  "cipher is one of: cbc, gcm"},
        ErrorCase{"bad_revocation", "rules:\n  - {name: a, actions: [{revocation: soft}]}\n", ":2:38: ",
                  "revocation is one of: off, soft_fail, hard_fail"},
        ErrorCase{"verify_bad_signature", "rules:\n  - {name: a, actions: [{verify: {signature: strip}}]}\n", ":2:46: ",
                  "signature is one of: keep, remove"},
        ErrorCase{"security_tag_empty", "rules:\n  - {name: a, actions: [{security_tag: {}}]}\n", ":2:40: ",
                  "security_tag needs at least one of"},
        ErrorCase{"security_tag_control", "rules:\n  - {name: a, actions: [{security_tag: {signed: \"a\\tb\"}}]}\n",
                  ":2:49: ", "control characters are not allowed"},
        ErrorCase{"acknowledge_empty", "rules:\n  - {name: a, actions: [{acknowledge: ' '}]}\n", ":2:39: ", "must not be empty"},
        ErrorCase{"unknown_placeholder", "rules:\n  - {name: a, actions: [{acknowledge: 'hi ${name}'}]}\n", ":2:39: ",
                  "unknown placeholder in 'hi ${name}'; known: ${sender}"},
        ErrorCase{"generate_keys_no_value", "rules:\n  - {name: a, actions: [{generate_keys: yes}]}\n", ":2:41: ",
                  "action 'generate_keys' takes no value"}),
    [](const auto& case_info) { return std::string(case_info.param.label); });

// ---- dump ----

std::string without_comments(const std::string& yaml) {
  std::string out;
  std::size_t start = 0;
  while (start < yaml.size()) {
    auto end = yaml.find('\n', start);
    if (end == std::string::npos) end = yaml.size();
    const std::string line = yaml.substr(start, end - start);
    if (line.find_first_not_of(' ') == std::string::npos || line[line.find_first_not_of(' ')] != '#') out += line + "\n";
    start = end + 1;
  }
  return out;
}

TEST(Dump, IsTheEffectivePolicyAndLoadsAgain) {
  TempDir dir;
  dir.write("vip.txt", "boss@example.org\n# comment\n*@board.example\n");
  dir.write("policy.d/10-more.yaml", "lists:\n  more: ['/^x-[0-9]+@/']\nrules:\n  - {name: dropin, actions: [verify]}\n");
  const std::string text = dir.write("policy.yaml",
                                     [&] {
                                       std::string s(kHead);
                                       s.replace(s.find("lists:\n"), 7, "lists:\n  vip: {file: vip.txt}\n");
                                       return s;
                                     }() +
                                         "on_lookup_error: continue\n"
                                         "direction: {internal_networks: [10.0.0.0/8], outbound_listeners: [submission]}\n"
                                         "include: policy.d\n"
                                         "rules:\n"
                                         "  - name: main\n"
                                         "    description: \"it's \\\"quoted\\\"\"\n"
                                         "    when: {sender: ['list:vip', '*@x.example', '<>'], subject_contains: 'a: b # c'}\n"
                                         "    actions: [sign, {reject: 'x, y'}, {alert: {to: a@example.org, text: \"two\\nlines\"}}]\n"
                                         "    stop: true\n");
  const auto p = Policy::load(text);
  const std::string dumped = p->dump();
  EXPECT_THAT(dumped, HasSubstr("  vip: [boss@example.org, '*@board.example']\n"));
  EXPECT_THAT(dumped, HasSubstr("on_lookup_error: continue\n"));
  EXPECT_THAT(dumped, HasSubstr("  staff: 'cn=staff,ou=groups,dc=example,dc=org'\n"));
  EXPECT_THAT(dumped, HasSubstr("    when: {sender: ['list:vip', '*@x.example', '<>'], subject_contains: 'a: b # c'}\n"));
  EXPECT_THAT(dumped, HasSubstr("      - {alert: {to: a@example.org, text: \"two\\nlines\"}}\n"));
  EXPECT_THAT(dumped, HasSubstr("  - name: dropin\n"));
  EXPECT_LT(dumped.find("name: main"), dumped.find("name: dropin"));

  // The dump loads again (no include, lists inlined) to the same policy.
  TempDir other;
  const auto again = Policy::load(other.write("dump.yaml", dumped));
  EXPECT_EQ(without_comments(again->dump()), without_comments(dumped));
  EXPECT_EQ(again->rules().size(), p->rules().size());
}

}  // namespace
}  // namespace postern::policy
