// Every example in policies/ loads without errors or warnings, and together
// they use every condition and action the catalog declares.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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

}  // namespace
}  // namespace postern::policy
