#include "postern/policy/policy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace postern::policy {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

const char kMessage[] =
    "From: alice@example.org\r\nSubject: Quarterly report\r\nX-Priority: 1\r\nSensitivity: Private\r\n"
    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext\r\n"
    "--b\r\nContent-Type: application/pdf; name=q3.pdf\r\n\r\n%PDF\r\n--b--\r\n";

Envelope base_envelope() {
  Envelope e;
  e.sender = "<alice@example.org>";
  e.recipients = {"<bob@partner.example>"};
  e.client_address = core::IpAddress::parse("192.0.2.7");
  e.listener = "smtpd";
  e.tls_version = "TLSv1.2";
  e.tls_cipher_bits = 256;
  return e;
}

std::shared_ptr<const Policy> load(const TempDir& dir, const std::string& yaml) {
  return Policy::load(dir.write("policy.yaml", yaml));
}

// ---- every condition, matching and not ----

struct ConditionCase {
  const char* label;
  const char* when;  // a YAML flow mapping
  void (*edit)(Envelope&);
  bool match;
};

void same(Envelope&) {}

class Conditions : public ::testing::TestWithParam<ConditionCase> {};

TEST_P(Conditions, DecideWhetherTheRuleMatches) {
  TempDir dir;
  dir.write("vip.txt", "# board\n\n  boss@example.org\n@partner.example\n");
  const auto p = load(dir, std::string("direction:\n  internal_networks: [10.0.0.0/8]\n  outbound_listeners: [submission]\n"
                                       "lists:\n  partners: ['@partner.example']\n  vip: {file: vip.txt}\n"
                                       "rules:\n  - name: probe\n    when: ") +
                               GetParam().when + "\n    actions: [sign]\n");
  Envelope env = base_envelope();
  GetParam().edit(env);
  const auto facts = MessageFacts::from_message(kMessage);
  const Decision d = p->decide(p->subject(env, facts, env.recipients.front()));
  EXPECT_EQ(d.transforms.sign, GetParam().match);
  EXPECT_EQ(d.matched_rules.size(), GetParam().match ? 1u : 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Conditions,
    ::testing::Values(
        ConditionCase{"sender_exact", "{sender: alice@example.org}", same, true},
        ConditionCase{"sender_other", "{sender: eve@example.org}", same, false},
        ConditionCase{"sender_null", "{sender: '<>'}", [](Envelope& e) { e.sender = "<>"; }, true},
        ConditionCase{"recipient_domain", "{recipient: '@partner.example'}", same, true},
        ConditionCase{"recipient_wildcard", "{recipient: '*@*.example'}", same, true},
        ConditionCase{"recipient_regex", "{recipient: '/^bob@/'}", same, true},
        ConditionCase{"recipient_regex_no", "{recipient: '/^rob@/'}", same, false},
        ConditionCase{"recipient_list", "{recipient: 'list:partners'}", same, true},
        ConditionCase{"recipient_list_file", "{recipient: 'list:vip'}", same, true},
        ConditionCase{"sender_list_file_no", "{sender: 'list:vip'}", same, false},
        ConditionCase{"direction_inbound", "{direction: inbound}", same, true},
        ConditionCase{"direction_network", "{direction: outbound}",
                      [](Envelope& e) { e.client_address = core::IpAddress::parse("10.1.2.3"); }, true},
        ConditionCase{"direction_auth", "{direction: outbound}", [](Envelope& e) { e.auth_user = "alice"; }, true},
        ConditionCase{"direction_listener", "{direction: outbound}", [](Envelope& e) { e.listener = "submission"; }, true},
        ConditionCase{"client_network", "{client_network: [192.0.2.0/24]}", same, true},
        ConditionCase{"client_network_unknown", "{client_network: 0.0.0.0/0}",
                      [](Envelope& e) { e.client_address.reset(); }, false},
        ConditionCase{"authenticated_false", "{authenticated: false}", same, true},
        ConditionCase{"authenticated_true", "{authenticated: true}", [](Envelope& e) { e.auth_user = "a"; }, true},
        ConditionCase{"listener", "{listener: [smtpd, submission]}", same, true},
        ConditionCase{"size_over", "{size_over: 100}", same, true},
        ConditionCase{"size_over_no", "{size_over: 1K}", same, false},
        ConditionCase{"size_under", "{size_under: 1K}", same, true},
        ConditionCase{"priority", "{priority: high}", same, true},
        ConditionCase{"priority_no", "{priority: [low, normal]}", same, false},
        ConditionCase{"sensitivity", "{sensitivity: private}", same, true},
        ConditionCase{"sensitivity_no", "{sensitivity: normal}", same, false},
        ConditionCase{"subject_contains", "{subject_contains: [invoice, REPORT]}", same, true},
        ConditionCase{"subject_contains_no", "{subject_contains: invoice}", same, false},
        ConditionCase{"encrypted_false", "{encrypted: false}", same, true},
        ConditionCase{"encrypted_pgp", "{encrypted: pgp}", same, false},
        ConditionCase{"signed_false", "{signed: false}", same, true},
        ConditionCase{"signed_smime", "{signed: smime}", same, false},
        ConditionCase{"tls", "{tls: true}", same, true},
        ConditionCase{"tls_none", "{tls: true}", [](Envelope& e) { e.tls_version.clear(); }, false},
        ConditionCase{"tls_version", "{tls_version_at_least: TLSv1.2}", same, true},
        ConditionCase{"tls_version_no", "{tls_version_at_least: TLSv1.3}", same, false},
        ConditionCase{"tls_bits", "{tls_bits_at_least: 128}", same, true},
        ConditionCase{"tls_bits_no_tls", "{tls_bits_at_least: 0}", [](Envelope& e) { e.tls_version.clear(); }, false},
        ConditionCase{"attachment_name", "{attachment_name: '*.PDF'}", same, true},
        ConditionCase{"attachment_name_no", "{attachment_name: ['*.exe', '/\\.zip$/']}", same, false},
        ConditionCase{"attachment_count", "{attachment_count_at_least: 1}", same, true},
        ConditionCase{"attachment_count_no", "{attachment_count_at_least: 2}", same, false},
        ConditionCase{"implicit_all", "{tls: true, priority: high}", same, true},
        ConditionCase{"implicit_all_no", "{tls: true, priority: low}", same, false},
        ConditionCase{"all", "{all: [{tls: true}, {priority: high}]}", same, true},
        ConditionCase{"any", "{any: [{tls: false}, {priority: high}]}", same, true},
        ConditionCase{"any_no", "{any: [{tls: false}, {priority: low}]}", same, false},
        ConditionCase{"not", "{not: {tls: false}}", same, true},
        ConditionCase{"nested", "{not: {any: [{tls: false}, {all: [{priority: high}, {size_over: 1}]}]}}", same, false}),
    [](const auto& case_info) { return std::string(case_info.param.label); });

// ---- load errors, each with its location ----

struct ErrorCase {
  const char* label;
  const char* yaml;
  const char* where;  // ":LINE:COL: "
  const char* message;
};

class LoadErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LoadErrors, NameFileLineColumn) {
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
    Cases, LoadErrors,
    ::testing::Values(
        ErrorCase{"empty_file", "", ":1:1: ", "the policy file is empty"},
        ErrorCase{"not_a_map", "[1]", ":1:1: ", "a policy file is a mapping"},
        ErrorCase{"unknown_top_key", "rulez: []\n", ":1:1: ", "unknown key 'rulez'"},
        ErrorCase{"duplicate_key", "rules: []\nrules: []\n", ":2:1: ", "duplicate"},
        ErrorCase{"unknown_rule_key", "rules:\n  - name: a\n    actions: [sign]\n    stpo: true\n", ":4:5: ",
                  "unknown key 'stpo'"},
        ErrorCase{"unknown_condition", "rules:\n  - name: a\n    when: {recipent: a@b.org}\n    actions: [sign]\n", ":3:12: ",
                  "unknown condition 'recipent'; known: sender, recipient"},
        ErrorCase{"unknown_action", "rules:\n  - name: a\n    actions: [sing]\n", ":3:15: ",
                  "unknown action 'sing'; known: no_processing, reject"},
        ErrorCase{"bad_regex", "rules:\n  - name: a\n    when: {recipient: '/(/'}\n    actions: [sign]\n", ":3:23: ",
                  "bad regular expression '('"},
        ErrorCase{"unknown_list", "rules:\n  - name: a\n    when: {sender: 'list:nope'}\n    actions: [sign]\n", ":3:20: ",
                  "unknown list 'nope'"},
        ErrorCase{"missing_list_file", "lists:\n  x: {file: nowhere.txt}\n", ":2:13: ", "cannot read list file"},
        ErrorCase{"duplicate_rule", "rules:\n  - {name: a, stop: true}\n  - {name: a, stop: true}\n", ":3:12: ",
                  "rule 'a' is already defined at"},
        ErrorCase{"rule_without_name", "rules:\n  - {actions: [sign]}\n", ":2:5: ", "a rule needs a name"},
        ErrorCase{"rule_does_nothing", "rules:\n  - {name: a}\n", ":2:5: ", "rule does nothing"},
        ErrorCase{"empty_actions", "rules:\n  - {name: a, actions: []}\n", ":2:24: ", "actions is a non-empty list"},
        ErrorCase{"action_needs_value", "rules:\n  - {name: a, actions: [reject]}\n", ":2:25: ", "action 'reject' needs a value"},
        ErrorCase{"action_takes_no_value", "rules:\n  - {name: a, actions: [{sign: yes}]}\n", ":2:32: ", "action 'sign' takes no value"},
        ErrorCase{"bad_encrypt_method", "rules:\n  - {name: a, actions: [{encrypt: rot13}]}\n", ":2:35: ",
                  "method is one of: smime, pgp, auto"},
        ErrorCase{"bad_fallback", "rules:\n  - {name: a, actions: [{encrypt: {method: pgp, fallback: drop}}]}\n", ":2:59: ",
                  "fallback is one of"},
        ErrorCase{"bad_incamail", "rules:\n  - {name: a, actions: [{incamail: x}]}\n", ":2:36: ", "incamail type is one of"},
        ErrorCase{"reserved_header", "rules:\n  - {name: a, actions: [{remove_header: X-Postern-Plan}]}\n", ":2:41: ",
                  "X-Postern-* headers are reserved"},
        ErrorCase{"reject_non_ascii", "rules:\n  - {name: a, actions: [{reject: \"n\\u00e9\"}]}\n", ":2:34: ",
                  "only printable ASCII"},
        ErrorCase{"bad_bool", "rules:\n  - {name: a, stop: yes}\n", ":2:21: ", "'yes' is not a boolean"},
        ErrorCase{"bad_size", "rules:\n  - {name: a, when: {size_over: 10Q}, stop: true}\n", ":2:33: ", ""},
        ErrorCase{"bad_choice", "rules:\n  - {name: a, when: {priority: urgent}, stop: true}\n", ":2:32: ",
                  "'urgent' is not one of: high, normal, low"},
        ErrorCase{"bad_network", "direction: {internal_networks: [10.1.2.3/8]}\n", ":1:33: ", ""},
        ErrorCase{"empty_when", "rules:\n  - {name: a, when: {}, stop: true}\n", ":2:21: ", "no conditions"},
        ErrorCase{"not_takes_map", "rules:\n  - {name: a, when: {not: [{tls: true}]}, stop: true}\n", ":2:27: ",
                  "'not' takes a mapping"},
        ErrorCase{"nested_list_in_list", "lists:\n  a: ['list:b']\n  b: [x@y.org]\n", ":2:7: ",
                  "a list cannot refer to another list"}),
    [](const auto& case_info) { return std::string(case_info.param.label); });

TEST(PolicyLoad, ReportsEveryProblemSorted) {
  TempDir dir;
  try {
    load(dir, "rules:\n  - {name: a, actions: [sing]}\n  - {name: b, when: {x: 1}, actions: [sign]}\n");
    FAIL() << "loaded";
  } catch (const core::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u);
    EXPECT_EQ(e.diagnostics()[0].where.line, 2);
    EXPECT_EQ(e.diagnostics()[1].where.line, 3);
  }
}

TEST(PolicyLoad, UnknownTopKeyDoesNotHideOtherErrors) {
  TempDir dir;
  try {
    load(dir, "rulez: 1\nrules:\n  - {name: a, actions: [sing]}\n");
    FAIL() << "loaded";
  } catch (const core::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u);
    EXPECT_THAT(e.diagnostics()[0].message, HasSubstr("unknown key 'rulez'"));
    EXPECT_THAT(e.diagnostics()[1].message, HasSubstr("unknown action 'sing'"));
  }
}

TEST(PolicyLoad, ConditionTextKeepsLongValuesWhole) {
  // The text is the canonical form for shadowing: two long regexes that
  // differ only at the end are different conditions.
  TempDir dir;
  const std::string long_re = "/^" + std::string(200, 'a');
  const auto p = load(dir, "rules:\n  - {name: a, when: {sender: '" + long_re + "x/'}, stop: true}\n"
                           "  - {name: b, when: {sender: '" + long_re + "y/'}, actions: [sign]}\n");
  EXPECT_TRUE(p->warnings().empty());
  EXPECT_EQ(p->rules()[0].when_text, "{sender: '" + long_re + "x/'}");
}

// ---- warnings ----

TEST(PolicyLoad, WarnsAboutUnreachableAndShadowedRules) {
  TempDir dir;
  const auto p = load(dir,
                      "rules:\n"
                      "  - {name: partners, when: {recipient: '@p.example'}, actions: [sign], stop: true}\n"
                      "  - {name: again, when: {recipient: '@p.example'}, actions: [verify]}\n"
                      "  - {name: all, stop: true}\n"
                      "  - {name: never, actions: [sign]}\n");
  ASSERT_EQ(p->warnings().size(), 2u);
  EXPECT_EQ(p->warnings()[0].severity, core::Diagnostic::Severity::warning);
  EXPECT_THAT(p->warnings()[0].to_string(), HasSubstr(":3:5: warning: rule 'again' is shadowed by rule 'partners'"));
  EXPECT_THAT(p->warnings()[1].to_string(), HasSubstr(":5:5: warning: rule 'never' is unreachable: rule 'all'"));
}

TEST(PolicyLoad, NoWarningForSameConditionsWithoutStop) {
  TempDir dir;
  const auto p = load(dir,
                      "rules:\n"
                      "  - {name: a, when: {tls: true}, actions: [sign]}\n"
                      "  - {name: b, when: {tls: true}, actions: [verify]}\n");
  EXPECT_TRUE(p->warnings().empty());
}

// ---- precedence and accumulation ----

struct PrecedenceCase {
  const char* label;
  const char* rules;
  Disposition disposition;
  const char* text;
  const char* decided_by;
  void (*expect)(const plan::Plan&);
};

class Precedence : public ::testing::TestWithParam<PrecedenceCase> {};

TEST_P(Precedence, ResolvesAccumulatedActions) {
  TempDir dir;
  const auto p = load(dir, std::string("rules:\n") + GetParam().rules);
  const Envelope env = base_envelope();
  const auto facts = MessageFacts::from_message(kMessage);
  const Decision d = p->decide(p->subject(env, facts, env.recipients.front()));
  EXPECT_EQ(d.disposition, GetParam().disposition);
  EXPECT_EQ(d.text, GetParam().text);
  EXPECT_EQ(d.decided_by, GetParam().decided_by);
  GetParam().expect(d.transforms);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Precedence,
    ::testing::Values(
        PrecedenceCase{"reject_beats_hold",
                       "  - {name: h, actions: [{hold: review}]}\n  - {name: r, actions: [{reject: no thanks}]}\n",
                       Disposition::reject, "no thanks", "r", [](const plan::Plan&) {}},
        PrecedenceCase{"hold_beats_discard", "  - {name: d, actions: [discard]}\n  - {name: h, actions: [{hold: look}]}\n",
                       Disposition::hold, "look", "h", [](const plan::Plan&) {}},
        PrecedenceCase{"discard_beats_transform", "  - {name: s, actions: [sign]}\n  - {name: d, actions: [discard]}\n",
                       Disposition::discard, "", "d", [](const plan::Plan& p) { EXPECT_TRUE(p.sign); }},
        PrecedenceCase{"first_equal_disposition_wins",
                       "  - {name: a, actions: [{reject: first}]}\n  - {name: b, actions: [{reject: second}]}\n",
                       Disposition::reject, "first", "a", [](const plan::Plan&) {}},
        PrecedenceCase{"stop_ends_accumulation",
                       "  - {name: s, actions: [sign], stop: true}\n  - {name: r, actions: [{reject: late}]}\n",
                       Disposition::accept, "", "", [](const plan::Plan& p) { EXPECT_TRUE(p.sign); }},
        PrecedenceCase{"non_matching_stop_does_not_stop",
                       "  - {name: s, when: {tls: false}, stop: true}\n  - {name: v, actions: [verify]}\n",
                       Disposition::accept, "", "", [](const plan::Plan& p) { EXPECT_TRUE(p.verify); }},
        PrecedenceCase{"transforms_accumulate",
                       "  - {name: a, actions: [sign, {encrypt: {method: smime, fallback: hold}}, {incamail: c}]}\n"
                       "  - {name: b, actions: [verify, decrypt, {encrypt: pgp}, {incamail: r}, {subject_tag: '[b]'}]}\n"
                       "  - {name: c, actions: [{subject_tag: '[c]'}]}\n",
                       Disposition::accept, "", "",
                       [](const plan::Plan& p) {
                         EXPECT_TRUE(p.sign && p.verify && p.decrypt);
                         EXPECT_EQ(p.encrypt, plan::EncryptMethod::smime);
                         EXPECT_EQ(p.fallback, plan::EncryptFallback::hold);
                         EXPECT_EQ(p.incamail, plan::IncaMailType::confidential);
                         EXPECT_EQ(p.subject_tag, "[b]");
                       }},
        PrecedenceCase{"header_edits_without_duplicates",
                       "  - {name: a, actions: [{add_header: {name: X-A, value: '1'}}, {remove_header: X-Spam}]}\n"
                       "  - {name: b, actions: [{add_header: {name: X-A, value: '1'}}, {add_header: {name: X-A, value: '2'}},"
                       " {remove_header: x-spam}]}\n",
                       Disposition::accept, "", "",
                       [](const plan::Plan& p) {
                         EXPECT_EQ(p.add_headers, (std::vector<plan::HeaderField>{{"X-A", "1"}, {"X-A", "2"}}));
                         EXPECT_EQ(p.remove_headers, std::vector<std::string>{"X-Spam"});
                       }},
        PrecedenceCase{"no_processing_clears_transforms_not_disposition",
                       "  - {name: a, actions: [sign, {hold: check}]}\n  - {name: b, actions: [no_processing, verify]}\n",
                       Disposition::hold, "check", "a", [](const plan::Plan& p) { EXPECT_EQ(p, plan::Plan{}); }}),
    [](const auto& case_info) { return std::string(case_info.param.label); });

// ---- includes ----

TEST(PolicyInclude, DropInRulesFollowInNameOrderAndShareLists) {
  TempDir dir;
  dir.write("policy.d/20-late.yaml", "rules:\n  - {name: late, when: {recipient: 'list:team'}, actions: [verify]}\n");
  dir.write("policy.d/10-early.yaml", "lists:\n  team: ['@partner.example']\nrules:\n  - {name: early, actions: [sign]}\n");
  dir.write("policy.d/ignored.txt", "not yaml at all: [");
  const auto p = load(dir, "include: policy.d\nrules:\n  - {name: main, actions: [decrypt]}\n");
  ASSERT_EQ(p->rules().size(), 3u);
  EXPECT_EQ(p->rules()[0].name, "main");
  EXPECT_EQ(p->rules()[1].name, "early");
  EXPECT_EQ(p->rules()[2].name, "late");
  EXPECT_EQ(p->files().size(), 3u);
  const Envelope env = base_envelope();
  const auto facts = MessageFacts::from_message(kMessage);
  const Decision d = p->decide(p->subject(env, facts, env.recipients.front()));
  EXPECT_EQ(d.matched_rules, (std::vector<std::string>{"main", "early", "late"}));
}

struct IncludeErrorCase {
  const char* label;
  const char* dropin;
  const char* where;
  const char* message;
};

class IncludeErrors : public ::testing::TestWithParam<IncludeErrorCase> {};

TEST_P(IncludeErrors, NameTheDropInFile) {
  TempDir dir;
  const std::string dropin = dir.write("policy.d/50-local.yaml", GetParam().dropin);
  try {
    load(dir, "include: policy.d\nlists:\n  team: [a@b.org]\nrules:\n  - {name: main, actions: [sign]}\n");
    FAIL() << "loaded";
  } catch (const core::ConfigError& e) {
    std::string all;
    for (const auto& d : e.diagnostics()) all += d.to_string() + "\n";
    EXPECT_THAT(all, HasSubstr(dropin + GetParam().where + GetParam().message));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, IncludeErrors,
    ::testing::Values(IncludeErrorCase{"no_nested_include", "include: more\n", ":1:1: ", "unknown key 'include'"},
                      IncludeErrorCase{"no_direction", "direction: {}\n", ":1:1: ", "unknown key 'direction'"},
                      IncludeErrorCase{"duplicate_list", "lists:\n  team: [c@d.org]\n", ":2:3: ",
                                       "list 'team' is already defined at"},
                      IncludeErrorCase{"duplicate_rule", "rules:\n  - {name: main, actions: [sign]}\n", ":2:12: ",
                                       "rule 'main' is already defined at"}),
    [](const auto& case_info) { return std::string(case_info.param.label); });

TEST(PolicyInclude, MissingFolderIsAnError) {
  TempDir dir;
  EXPECT_THROW(load(dir, "include: nowhere\nrules: []\n"), core::ConfigError);
}

TEST(PolicyInclude, EmptyFolderIsAWarning) {
  TempDir dir;
  dir.write("policy.d/README", "x");
  const auto p = load(dir, "include: policy.d\nrules: []\n");
  ASSERT_EQ(p->warnings().size(), 1u);
  EXPECT_THAT(p->warnings()[0].message, HasSubstr("has no *.yaml files"));
}

TEST(PolicyLists, FileListErrorsPointIntoTheListFile) {
  TempDir dir;
  const std::string list = dir.write("bad.txt", "ok@example.org\n\n   /(/\n");
  try {
    load(dir, "lists:\n  bad: {file: bad.txt}\n");
    FAIL() << "loaded";
  } catch (const core::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_THAT(e.diagnostics()[0].to_string(), HasSubstr(list + ":3:4: bad regular expression"));
  }
}

// ---- tracing (explain) ----

TEST(PolicyTrace, RecordsEveryConditionWithTheValueSeen) {
  TempDir dir;
  const auto p = load(dir,
                      "rules:\n"
                      "  - {name: a, when: {any: [{tls: false}, {subject_contains: report}]}, actions: [sign], stop: true}\n"
                      "  - {name: b, actions: [verify]}\n");
  const Envelope env = base_envelope();
  const auto facts = MessageFacts::from_message(kMessage);
  std::vector<RuleTrace> trace;
  const Decision d = p->decide(p->subject(env, facts, env.recipients.front()), &trace);
  ASSERT_EQ(trace.size(), 2u);
  EXPECT_TRUE(trace[0].evaluated && trace[0].matched);
  ASSERT_EQ(trace[0].conditions.size(), 3u);
  EXPECT_EQ(trace[0].conditions[0].condition, "any: [{tls: false}, {subject_contains: report}]");
  EXPECT_TRUE(trace[0].conditions[0].matched);
  EXPECT_EQ(trace[0].conditions[1].depth, 1);
  EXPECT_FALSE(trace[0].conditions[1].matched);
  EXPECT_EQ(trace[0].conditions[1].seen, "TLSv1.2");
  EXPECT_TRUE(trace[0].conditions[2].matched);
  EXPECT_EQ(trace[0].conditions[2].seen, "Quarterly report");
  EXPECT_FALSE(trace[1].evaluated);
  EXPECT_EQ(d.stopped_by, "a");
}

// ---- per-recipient decisions and groups ----

TEST(PolicyMessage, GroupsAcceptedRecipientsByIdenticalPlan) {
  TempDir dir;
  const auto p = load(dir,
                      "rules:\n"
                      "  - {name: partners, when: {recipient: '@partner.example'}, actions: [{encrypt: smime}]}\n"
                      "  - {name: spam, when: {recipient: spam@example.org}, actions: [{reject: go away}]}\n"
                      "  - {name: all, actions: [sign]}\n");
  Envelope env = base_envelope();
  env.recipients = {"<bob@partner.example>", "<carol@example.org>", "<spam@example.org>", "<dave@PARTNER.example>"};
  const auto d = p->decide_message(env, MessageFacts::from_message(kMessage));
  ASSERT_EQ(d.recipients.size(), 4u);
  EXPECT_EQ(d.recipients[2].decision.disposition, Disposition::reject);
  EXPECT_EQ(d.strongest, Disposition::reject);
  ASSERT_EQ(d.groups.size(), 2u);
  EXPECT_EQ(d.groups[0].recipients, (std::vector<std::string>{"<bob@partner.example>", "<dave@PARTNER.example>"}));
  EXPECT_EQ(d.groups[0].encrypt, plan::EncryptMethod::smime);
  EXPECT_TRUE(d.groups[0].sign);
  EXPECT_EQ(d.groups[1].recipients, std::vector<std::string>{"<carol@example.org>"});
  EXPECT_EQ(d.groups[1].encrypt, plan::EncryptMethod::none);
}

TEST(PolicyMessage, NoRulesAcceptsEverythingUntransformed) {
  TempDir dir;
  const auto p = load(dir, "rules: []\n");
  const auto d = p->decide_message(base_envelope(), MessageFacts::from_message(kMessage));
  EXPECT_EQ(d.strongest, Disposition::accept);
  ASSERT_EQ(d.groups.size(), 1u);
  EXPECT_EQ(d.groups[0].recipients, std::vector<std::string>{"<bob@partner.example>"});
}

}  // namespace
}  // namespace postern::policy
