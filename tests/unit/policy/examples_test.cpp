// Every example in policies/ loads without errors or warnings, and together
// they use every condition and action the catalog declares.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "postern/ctl/policy_commands.hpp"
#include "postern/policy/catalog.hpp"
#include "postern/policy/policy.hpp"

namespace postern::policy {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> example_files() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(POSTERN_SOURCE_DIR "/policies")) {
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Examples, LoadCleanly) {
  const auto files = example_files();
  ASSERT_FALSE(files.empty());
  for (const auto& f : files) {
    try {
      const auto p = Policy::load(f);
      EXPECT_FALSE(p->rules().empty()) << f;
      for (const auto& w : p->warnings()) ADD_FAILURE() << w.to_string();
    } catch (const core::ConfigError& e) {
      for (const auto& d : e.diagnostics()) ADD_FAILURE() << d.to_string();
    }
  }
}

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// A declaration is used when its name appears as a whole word followed by
// ':' (a condition or an action with a value) or as a bare list item.
bool uses(const std::string& text, std::string_view name) {
  for (auto at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
    const auto end = at + name.size();
    if ((at > 0 && is_word_char(text[at - 1])) || (end < text.size() && is_word_char(text[end]))) continue;
    auto before = at;
    while (before > 0 && text[before - 1] == ' ') --before;
    const char previous = before > 0 ? text[before - 1] : '\n';
    if ((end < text.size() && text[end] == ':') || previous == '-' || previous == '[' || previous == ',') return true;
  }
  return false;
}

TEST(Examples, CoverEveryConditionAndAction) {
  std::string all;
  for (const auto& f : example_files()) {
    const auto policy = Policy::load(f);
    for (const auto& file : policy->files()) {
      std::ifstream in(file);
      std::stringstream s;
      s << in.rdbuf();
      all += s.str();
    }
  }
  for (const auto* decls : {&condition_declarations(), &action_declarations()}) {
    for (const auto& d : *decls) EXPECT_TRUE(uses(all, d.name)) << d.name << " is not used in policies/";
  }
}

std::string without_comment_lines(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find_first_not_of(' ');
    if (first != std::string::npos && line[first] == '#') continue;
    out += line + "\n";
  }
  return out;
}

// posternctl policy dump of every example loads again to the same policy.
TEST(Examples, DumpLoadsAgain) {
  for (const auto& f : example_files()) {
    const auto p = Policy::load(f);
    const std::string dumped = p->dump();
    const auto copy = fs::temp_directory_path() / ("postern-dump-" + std::to_string(::getpid()) + ".yaml");
    std::ofstream(copy) << dumped;
    try {
      const auto again = Policy::load(copy.string());
      EXPECT_EQ(again->rules().size(), p->rules().size()) << f;
      EXPECT_EQ(without_comment_lines(again->dump()), without_comment_lines(dumped)) << f;
    } catch (const core::ConfigError& e) {
      for (const auto& d : e.diagnostics()) ADD_FAILURE() << f << ": " << d.to_string();
    }
    fs::remove(copy);
  }
}

// policies/directory.yaml with its assumed answers: the dry run an admin
// would do, as the comment in the file shows it.
TEST(Examples, DirectoryPolicyWithAssumedAnswers) {
  const std::string dir = POSTERN_SOURCE_DIR "/policies/";
  const auto p = Policy::load(dir + "directory.yaml");
  const auto services = ctl::assumed_services(dir + "assume/directory.yaml", *p);
  const auto with = Policy::load(dir + "directory.yaml", services);
  Envelope env;
  env.sender = "<alice@example.org>";
  env.recipients = {"<bob@partner.example>", "<nobody@elsewhere.example>"};
  env.client_address = core::IpAddress::parse("10.1.2.3");
  const auto facts = MessageFacts::from_message("Subject: offer\r\n\r\nbody\r\n");
  const auto d = with->decide_message(env, facts);
  ASSERT_EQ(d.recipients.size(), 2u);
  EXPECT_EQ(d.direction, Direction::outbound);
  const Decision& bob = d.recipients[0].decision;
  EXPECT_EQ(bob.disposition, Disposition::accept);
  EXPECT_EQ(bob.transforms.encrypt, plan::EncryptMethod::smime);
  EXPECT_TRUE(bob.generate_keys);
  const Decision& nobody = d.recipients[1].decision;
  EXPECT_EQ(nobody.transforms.encrypt, plan::EncryptMethod::automatic);
  EXPECT_EQ(nobody.transforms.fallback, plan::EncryptFallback::incamail);

  // Inbound for tom, who left: redirected, and the sender told.
  Envelope in;
  in.sender = "<x@partner.example>";
  in.recipients = {"<tom@example.org>"};
  const auto t = with->decide_message(in, facts).recipients[0].decision;
  EXPECT_EQ(t.redirect_to, std::vector<std::string>{"team-mailbox@example.org"});
  ASSERT_EQ(t.notices.size(), 1u);
  EXPECT_EQ(t.notices[0].kind, Notice::Kind::acknowledge);
}

}  // namespace
}  // namespace postern::policy
