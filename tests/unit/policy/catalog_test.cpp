#include "postern/policy/catalog.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace postern::policy {
namespace {

TEST(Catalog, NamesAreUniqueAndDocumented) {
  for (const auto* decls : {&condition_declarations(), &action_declarations()}) {
    std::set<std::string_view> names;
    for (const auto& d : *decls) {
      EXPECT_TRUE(names.insert(d.name).second) << d.name;
      EXPECT_FALSE(d.doc.empty()) << d.name;
      EXPECT_FALSE(d.argument.empty()) << d.name;
    }
  }
}

// docs/policy.md carries reference_markdown() between two markers; when a
// declaration changes, this test says to regenerate it.
TEST(Catalog, DocsMatchTheDeclarations) {
  std::ifstream in(POSTERN_SOURCE_DIR "/docs/policy.md");
  ASSERT_TRUE(in) << "docs/policy.md is missing";
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string doc = buffer.str();
  const std::string begin = "<!-- BEGIN GENERATED: posternctl policy reference -->\n";
  const std::string end = "<!-- END GENERATED -->";
  const auto b = doc.find(begin);
  const auto e = doc.find(end);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  EXPECT_EQ(doc.substr(b + begin.size(), e - b - begin.size()), reference_markdown())
      << "regenerate with: posternctl policy reference";
}

}  // namespace
}  // namespace postern::policy
