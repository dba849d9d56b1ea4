// policy_bench: how long postern-policy's evaluator takes for a policy of
// 1,000 rules and a message with 10 recipients, with an in-memory directory
// and key store standing in for a warm LDAP cache. Prints microseconds per
// recipient and per message, as CPU time of the evaluating thread (the
// machine is shared; wall time is printed too); fails when a message takes
// 1 ms of CPU or more.
//   policy_bench [ITERATIONS]
#include <unistd.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fake_lookups.hpp"
#include "postern/policy/policy.hpp"

namespace {

using namespace postern;
using policy::testing::FakeDirectory;
using policy::testing::FakeKeys;

// Ten rule shapes, repeated with different values: address patterns of
// every kind, lists, message facts, lookups and combinations.
std::string rule(int i) {
  const std::string n = std::to_string(i);
  std::string when;
  switch (i % 10) {
    case 0: when = "{recipient: user" + n + "@example.org}"; break;
    case 1: when = "{sender: '@dept" + n + ".example.org', direction: outbound}"; break;
    case 2: when = "{recipient: '*@*.partner" + n + ".example'}"; break;
    case 3: when = "{recipient: '/^team" + n + "[.-]/'}"; break;
    case 4: when = "{recipient: 'list:partners', subject_contains: [project-" + n + ", code-" + n + "]}"; break;
    case 5: when = "{sender_member_of: g" + std::to_string(i % 20) + ", size_over: " + std::to_string(100 + i) + "K}"; break;
    case 6: when = "{recipient_attribute: {attribute: department, value: dept" + n + "}}"; break;
    case 7: when = "{any: [{priority: high}, {attachment_name: '*.x" + n + "'}], tls: true}"; break;
    case 8: when = "{not: {recipient: 'list:partners'}, key_available: smime, sensitivity: private}"; break;
    case 9: when = "{attachment_sniffed_type: exe, recipient: '@zone" + n + ".example'}"; break;
  }
  static const char* const kActions[] = {"[sign]", "[{encrypt: smime}]", "[verify]", "[{add_header: {name: X-R, value: v}}]",
                                         "[{subject_tag: '[x]'}]"};
  return "  - name: r" + n + "\n    when: " + when + "\n    actions: " + kActions[i % 5] + "\n";
}

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 2000;
  if (iterations <= 0) return 2;
  char dir_template[] = "/tmp/postern-policy-bench-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return 2;
  const std::filesystem::path dir(dir_template);
  std::string yaml = "direction: {internal_networks: [10.0.0.0/8]}\ngroups:\n";
  for (int g = 0; g < 20; ++g) yaml += "  g" + std::to_string(g) + ": 'cn=g" + std::to_string(g) + ",dc=example,dc=org'\n";
  yaml += "lists:\n  partners: [";
  for (int l = 0; l < 200; ++l) yaml += (l ? ", " : "") + std::string("'@p") + std::to_string(l) + ".example'";
  yaml += "]\nrules:\n";
  for (int i = 0; i < 1000; ++i) yaml += rule(i);
  {
    std::ofstream(dir / "policy.yaml") << yaml;
  }

  auto directory = std::make_shared<FakeDirectory>();
  auto keys = std::make_shared<FakeKeys>();
  policy::Envelope env;
  env.sender = "<alice@dept11.example.org>";
  env.client_address = core::IpAddress::parse("10.1.2.3");
  env.listener = "submission";
  env.tls_version = "TLSv1.3";
  env.tls_cipher_bits = 256;
  for (int r = 0; r < 10; ++r) {
    const std::string address = "user" + std::to_string(r * 10) + "@example.org";
    env.recipients.push_back("<" + address + ">");
    directory->attributes[address]["department"] = {"dept" + std::to_string(r)};
    if (r % 2 == 0) keys->keys[address] = {lookup::KeyKind::smime_encrypt};
  }
  directory->groups["alice@dept11.example.org"] = {"cn=g5,dc=example,dc=org"};
  const std::string message =
      "From: alice@dept11.example.org\r\nSubject: status of project-500\r\nX-Priority: 3\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext\r\n"
      "--b\r\nContent-Type: application/pdf; name=q3.pdf\r\n\r\n%PDF-1.4\r\n--b--\r\n";

  std::shared_ptr<const policy::Policy> p;
  try {
    p = policy::Policy::load((dir / "policy.yaml").string(), policy::Services{directory, keys});
  } catch (const core::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    std::filesystem::remove_all(dir);
    return 1;
  }
  std::filesystem::remove_all(dir);
  const auto facts = policy::MessageFacts::from_message(message);

  std::size_t matched = 0;
  for (int i = 0; i < 50; ++i) matched += p->decide_message(env, facts).recipients.size();  // warm up
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = thread_cpu_us();
  for (int i = 0; i < iterations; ++i) {
    const auto d = p->decide_message(env, facts);
    for (const auto& r : d.recipients) matched += r.decision.matched_rules.size();
  }
  const double cpu = thread_cpu_us() - cpu_start;
  const double wall = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  const double per_message = cpu / iterations;
  const double per_recipient = per_message / static_cast<double>(env.recipients.size());
  std::printf("policy_bench: %zu rules, %zu recipients, %d messages: %.1f us CPU per message, %.2f us CPU per "
              "recipient (wall %.1f us per message; %d directory questions; checksum %zu)\n",
              p->rules().size(), env.recipients.size(), iterations, per_message, per_recipient, wall / iterations,
              directory->questions.load(), matched);
  if (per_message >= 1000.0) {
    std::printf("policy_bench: FAIL: target is under 1000 us per message\n");
    return 1;
  }
  return 0;
}
