#include "postern/config/node.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace postern::config {
namespace {

using ::testing::ElementsAreArray;

std::vector<std::string> diagnostics_of(const std::string& yaml) {
  try {
    parse_string(yaml, "t.yaml");
  } catch (const core::ConfigError& e) {
    std::vector<std::string> out;
    for (const auto& d : e.diagnostics()) {
      out.push_back(d.to_string());
    }
    return out;
  }
  return {};
}

std::string at(const Node& node) {
  return node.where().file + ":" + std::to_string(node.where().line) + ":" + std::to_string(node.where().column);
}

TEST(Node, BuildsTreeWithOneBasedLocations) {
  const Node root = parse_string(
      "milter:\n"
      "  socket: \"inet:8891@localhost\"\n"
      "  timeout: 30s\n"
      "list:\n"
      "  - one\n"
      "  - 'two'\n"
      "flow: {a: 1, b: [x, y]}\n",
      "t.yaml");
  ASSERT_TRUE(root.is_map());
  EXPECT_EQ(at(root), "t.yaml:1:1");
  ASSERT_EQ(root.entries().size(), 3u);
  EXPECT_EQ(root.entries()[0].first.text(), "milter");
  EXPECT_EQ(at(root.entries()[0].first), "t.yaml:1:1");

  const Node* milter = root.find("milter");
  ASSERT_NE(milter, nullptr);
  ASSERT_TRUE(milter->is_map());
  EXPECT_EQ(at(*milter), "t.yaml:2:3");
  const Node* socket = milter->find("socket");
  ASSERT_NE(socket, nullptr);
  EXPECT_EQ(socket->text(), "inet:8891@localhost");
  EXPECT_TRUE(socket->quoted());
  EXPECT_EQ(at(*socket), "t.yaml:2:11");
  EXPECT_EQ(milter->find("timeout")->text(), "30s");
  EXPECT_FALSE(milter->find("timeout")->quoted());
  EXPECT_EQ(at(*milter->find("timeout")), "t.yaml:3:12");

  const Node* list = root.find("list");
  ASSERT_TRUE(list->is_sequence());
  ASSERT_EQ(list->items().size(), 2u);
  EXPECT_EQ(list->items()[0].text(), "one");
  EXPECT_EQ(at(list->items()[1]), "t.yaml:6:5");
  EXPECT_TRUE(list->items()[1].quoted());

  const Node* flow = root.find("flow");
  ASSERT_TRUE(flow->is_map());
  EXPECT_EQ(at(*flow->find("b")), "t.yaml:7:17");
  EXPECT_EQ(flow->find("b")->items()[1].text(), "y");
}

TEST(Node, FindOnlyLooksAtMappingKeys) {
  const Node root = parse_string("a: 1\nlist: [a]\n", "t.yaml");
  EXPECT_EQ(root.find("missing"), nullptr);
  EXPECT_EQ(root.find("a")->find("a"), nullptr);     // scalar
  EXPECT_EQ(root.find("list")->find("a"), nullptr);  // list
  EXPECT_EQ(Node().find("a"), nullptr);              // null
}

struct ScalarCase {
  std::string yaml;  // "v: <yaml>"
  Node::Kind kind;
  std::string text;
  bool quoted;
};

class ScalarTest : public ::testing::TestWithParam<ScalarCase> {};

TEST_P(ScalarTest, StaysTextAndRemembersQuoting) {
  const Node root = parse_string("v: " + GetParam().yaml + "\n", "t.yaml");
  const Node* v = root.find("v");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->kind(), GetParam().kind) << GetParam().yaml;
  EXPECT_EQ(v->text(), GetParam().text) << GetParam().yaml;
  EXPECT_EQ(v->quoted(), GetParam().quoted) << GetParam().yaml;
}

INSTANTIATE_TEST_SUITE_P(
    Node, ScalarTest,
    ::testing::Values(
        // YAML 1.1 would make these booleans or numbers; here the schema decides.
        ScalarCase{"yes", Node::Kind::scalar, "yes", false}, ScalarCase{"on", Node::Kind::scalar, "on", false},
        ScalarCase{"true", Node::Kind::scalar, "true", false}, ScalarCase{"010", Node::Kind::scalar, "010", false},
        ScalarCase{"1e3", Node::Kind::scalar, "1e3", false}, ScalarCase{".inf", Node::Kind::scalar, ".inf", false},
        ScalarCase{"\"true\"", Node::Kind::scalar, "true", true},
        ScalarCase{"'yes'", Node::Kind::scalar, "yes", true},
        ScalarCase{"\"a\\tb\\u00e9\"", Node::Kind::scalar, "a\tb\xc3\xa9", true},
        ScalarCase{"'it''s'", Node::Kind::scalar, "it's", true},
        ScalarCase{"\"\"", Node::Kind::scalar, "", true}, ScalarCase{"!!str 5", Node::Kind::scalar, "5", true},
        ScalarCase{"!!str", Node::Kind::scalar, "", true},
        ScalarCase{"|\n  line one\n  line two", Node::Kind::scalar, "line one\nline two\n", true},
        ScalarCase{">-\n  folded\n  text", Node::Kind::scalar, "folded text", true},
        ScalarCase{"plain with spaces # comment", Node::Kind::scalar, "plain with spaces", false},
        ScalarCase{"\"null\"", Node::Kind::scalar, "null", true}, ScalarCase{"", Node::Kind::null, "", false},
        ScalarCase{"~", Node::Kind::null, "", false}, ScalarCase{"null", Node::Kind::null, "", false},
        ScalarCase{"[]", Node::Kind::sequence, "", false}, ScalarCase{"{}", Node::Kind::map, "", false},
        ScalarCase{"!!seq [a]", Node::Kind::sequence, "", false},
        ScalarCase{"!!map {a: 1}", Node::Kind::map, "", false}));

TEST(Node, EmptyValueIsLocatedAtItsKey) {
  const Node root = parse_string("a:\n# comment\nb: ~\n", "t.yaml");
  EXPECT_TRUE(root.find("a")->is_null());
  EXPECT_EQ(at(*root.find("a")), "t.yaml:1:1");
  EXPECT_EQ(at(*root.find("b")), "t.yaml:3:4");
}

class EmptyDocumentTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EmptyDocumentTest, IsNull) {
  const Node root = parse_string(GetParam(), "t.yaml");
  EXPECT_TRUE(root.is_null());
  EXPECT_EQ(root.where().file, "t.yaml");
}

INSTANTIATE_TEST_SUITE_P(Node, EmptyDocumentTest,
                         ::testing::Values("", "\n\n", "# only a comment\n", "   \n# a\n  # b\n", "---\n",
                                           "---\n...\n"));

TEST(Node, EmptyInputHasNoLine) {
  const Node root = parse_string("# nothing\n", "t.yaml");
  EXPECT_EQ(root.where().line, 0);
  EXPECT_EQ(root.where().column, 0);
}

TEST(Node, AliasIsACopyLocatedAtTheAlias) {
  const Node root = parse_string(
      "base: &b {x: 1, y: [p, q]}\n"
      "copy: *b\n"
      "word: &w 'hello'\n"
      "again: *w\n"
      "empty: &e\n"
      "also: *e\n",
      "t.yaml");
  const Node* copy = root.find("copy");
  ASSERT_TRUE(copy->is_map());
  EXPECT_EQ(at(*copy), "t.yaml:2:7");
  EXPECT_EQ(copy->find("x")->text(), "1");
  EXPECT_EQ(at(*copy->find("x")), "t.yaml:1:14");  // contents keep where they are written
  ASSERT_EQ(copy->find("y")->items().size(), 2u);
  EXPECT_EQ(copy->find("y")->items()[1].text(), "q");
  EXPECT_EQ(root.find("again")->text(), "hello");
  EXPECT_TRUE(root.find("again")->quoted());
  EXPECT_EQ(at(*root.find("again")), "t.yaml:4:8");
  EXPECT_TRUE(root.find("also")->is_null());
  // The anchored node itself is unchanged.
  EXPECT_EQ(at(*root.find("base")), "t.yaml:1:7");
}

TEST(Node, KindNames) {
  EXPECT_STREQ(Node::kind_name(Node::Kind::null), "null");
  EXPECT_STREQ(Node::kind_name(Node::Kind::scalar), "scalar");
  EXPECT_STREQ(Node::kind_name(Node::Kind::sequence), "list");
  EXPECT_STREQ(Node::kind_name(Node::Kind::map), "mapping");
}

TEST(Node, MakersBuildWhatTheySay) {
  const core::Location where{"x", 2, 3};
  const Node scalar = Node::make_scalar("v", true, where);
  EXPECT_TRUE(scalar.is_scalar());
  EXPECT_TRUE(scalar.quoted());
  EXPECT_EQ(scalar.where().column, 3);
  const Node map = Node::make_map({{Node::make_scalar("k", false, where), scalar}}, where);
  EXPECT_TRUE(map.is_map());
  EXPECT_EQ(map.find("k")->text(), "v");
  const Node seq = Node::make_sequence({scalar, Node::make_null(where)}, where);
  EXPECT_TRUE(seq.is_sequence());
  EXPECT_TRUE(seq.items()[1].is_null());
  EXPECT_TRUE(Node().is_null());
}

struct ErrorCase {
  std::string name;
  std::string yaml;
  std::vector<std::string> diagnostics;
};

class ErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ErrorTest, ReportsEveryProblemWithItsLocation) {
  EXPECT_THAT(diagnostics_of(GetParam().yaml), ElementsAreArray(GetParam().diagnostics));
}

std::string deep(int levels) { return std::string(static_cast<std::size_t>(levels), '[') + std::string(static_cast<std::size_t>(levels), ']'); }

std::string laughs() {
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'h'; ++c) {
    const char prev = static_cast<char>(c - 1);
    yaml += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) {
      yaml += std::string(i == 0 ? "" : ", ") + "*" + prev;
    }
    yaml += "]\n";
  }
  return yaml;
}

INSTANTIATE_TEST_SUITE_P(
    Node, ErrorTest,
    ::testing::Values(
        ErrorCase{"DuplicateTopLevel", "a: 1\nb: 2\na: 3\n", {"t.yaml:3:1: duplicate key 'a' (first at line 1)"}},
        ErrorCase{"DuplicateNested",
                  "s:\n  x: 1\n  y: 2\n  x: 3\nt:\n  x: 4\n",  // t.x is another mapping: fine
                  {"t.yaml:4:3: duplicate key 'x' (first at line 2)"}},
        ErrorCase{"DuplicateInFlow", "f: {k: 1, k: 2}\n", {"t.yaml:1:11: duplicate key 'k' (first at line 1)"}},
        ErrorCase{"DuplicateQuotedAndPlain", "k: 1\n\"k\": 2\n", {"t.yaml:2:1: duplicate key 'k' (first at line 1)"}},
        ErrorCase{"DuplicatesAllReported",
                  "a: 1\na: 2\nb:\n  c: 1\n  c: 2\n",
                  {"t.yaml:2:1: duplicate key 'a' (first at line 1)", "t.yaml:5:3: duplicate key 'c' (first at line 4)"}},
        ErrorCase{"ListKey", "? [1]\n: 2\n", {"t.yaml:1:3: mapping key must be a scalar, not a list"}},
        ErrorCase{"MapKey", "{a: 1}: 2\n", {"t.yaml:1:1: mapping key must be a scalar, not a mapping"}},
        ErrorCase{"NullKey", "~: 1\n", {"t.yaml:1:1: empty mapping key"}},
        ErrorCase{"SecondDocument", "a: 1\n---\nb: 2\n", {"t.yaml:2:1: a second YAML document: a file holds exactly one"}},
        ErrorCase{"SecondDocumentAfterEnd", "a: 1\n...\nb\n", {"t.yaml:3:1: a second YAML document: a file holds exactly one"}},
        ErrorCase{"SecondEmptyDocument", "a: 1\n---\n", {"t.yaml:2:1: a second YAML document: a file holds exactly one"}},
        ErrorCase{"UnclosedFlow", "a: [1, 2\n", {"t.yaml:2:1: invalid YAML: end of sequence flow not found"}},
        ErrorCase{"BadEscape", "a: \"x\\qy\"\n", {"t.yaml:1:8: invalid YAML: unknown escape character: q"}},
        ErrorCase{"TabIndent", "a:\n\t- x\n", {"t.yaml:2:2: invalid YAML: illegal block entry"}},
        ErrorCase{"UndefinedAlias", "a: *nowhere\n", {"t.yaml:1:4: invalid YAML: the referenced anchor is not defined"}},
        ErrorCase{"RecursiveAlias", "a: &x [1, *x]\n", {"t.yaml:1:11: alias refers to a node that contains it"}},
        ErrorCase{"IntTag", "a: !!int 5\n", {"t.yaml:1:4: unsupported tag '!!int' (only !!str, !!seq and !!map)"}},
        ErrorCase{"LocalTag", "a: !local {}\n", {"t.yaml:1:4: unsupported tag '!local' (only !!str, !!seq and !!map)"}},
        ErrorCase{"MismatchedTag", "a: !!map [1]\n", {"t.yaml:1:4: unsupported tag '!!map' (only !!str, !!seq and !!map)"}},
        ErrorCase{"Nul", "a: \"x\\0y\"\n", {"t.yaml:1:4: scalar contains a NUL character"}},
        ErrorCase{"ControlCharactersEscapedInMessages",
                  "\"a\\nb\": 1\n\"a\\nb\": 2\n",
                  {"t.yaml:2:1: duplicate key 'a\\x0ab' (first at line 1)"}},
        ErrorCase{"ProblemsBeforeASyntaxError",
                  "a: 1\na: 2\nb: [\n",
                  {"t.yaml:2:1: duplicate key 'a' (first at line 1)",
                   "t.yaml:4:1: invalid YAML: end of sequence flow not found"}},
        ErrorCase{"TooDeep", "a: " + deep(64) + "\n", {"t.yaml:1:67: nesting deeper than 64 levels"}},
        ErrorCase{"AliasBomb", laughs(), {"t.yaml:5:36: aliases expand to more than 100000 nodes"}}),
    [](const ::testing::TestParamInfo<ErrorCase>& p) { return p.param.name; });

TEST(Node, NestingUpToTheLimitIsFine) {
  const Node root = parse_string("a: " + deep(63) + "\n", "t.yaml");
  const Node* n = root.find("a");
  int depth = 0;
  while (n->is_sequence() && !n->items().empty()) {
    n = &n->items()[0];
    ++depth;
  }
  EXPECT_EQ(depth, 62);
}

TEST(Quote, EscapesControlCharactersAndShortens) {
  EXPECT_EQ(quote("plain"), "'plain'");
  EXPECT_EQ(quote(""), "''");
  EXPECT_EQ(quote("a\nb\x7f"), "'a\\x0ab\\x7f'");
  EXPECT_EQ(quote("caf\xc3\xa9"), "'caf\xc3\xa9'");  // UTF-8 is kept
  EXPECT_EQ(quote(std::string(100, 'x')), "'" + std::string(80, 'x') + "...'");
  // The cut never splits a UTF-8 sequence: 79 x then a two-byte character.
  EXPECT_EQ(quote(std::string(79, 'x') + "\xc3\xa9" + "tail"), "'" + std::string(79, 'x') + "...'");
}

class ParseFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "node_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string error_of(const std::string& path) {
    try {
      parse_file(path);
    } catch (const core::ConfigError& e) {
      return e.what();
    }
    return "no error";
  }

  std::string dir_;
};

TEST_F(ParseFileTest, ReadsAFileAndNamesItInLocations) {
  const std::string path = write("good.yaml", "a:\n  b: c\n");
  const Node root = parse_file(path);
  EXPECT_EQ(root.find("a")->find("b")->text(), "c");
  EXPECT_EQ(root.find("a")->find("b")->where().file, path);
  EXPECT_EQ(root.find("a")->find("b")->where().line, 2);
}

TEST_F(ParseFileTest, ErrorsCarryThePath) {
  const std::string path = write("dup.yaml", "a: 1\na: 2\n");
  EXPECT_EQ(error_of(path), path + ":2:1: duplicate key 'a' (first at line 1)");
}

TEST_F(ParseFileTest, MissingFile) {
  EXPECT_EQ(error_of(dir_ + "/none.yaml"), dir_ + "/none.yaml: cannot open: No such file or directory");
}

TEST_F(ParseFileTest, Directory) { EXPECT_EQ(error_of(dir_), dir_ + ": is a directory"); }

TEST_F(ParseFileTest, Fifo) {
  const std::string path = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  EXPECT_EQ(error_of(path), path + ": not a regular file");  // and does not hang
}

TEST_F(ParseFileTest, TooLarge) {
  const std::string path = write("big.yaml", "");
  ASSERT_EQ(::truncate(path.c_str(), 17 * 1024 * 1024), 0);
  EXPECT_EQ(error_of(path), path + ": larger than 16 MiB");
}

using ParseFileDeathTest = ParseFileTest;

TEST_F(ParseFileDeathTest, UnreadableFile) {
  const std::string path = write("secret.yaml", "a: 1\n");
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  // Root reads anything, so the check runs as an unprivileged user.
  EXPECT_EXIT(
      {
        if (::geteuid() == 0 && ::setuid(65534) != 0) {
          std::_Exit(2);
        }
        std::fputs(error_of(path).c_str(), stderr);
        std::_Exit(1);
      },
      ::testing::ExitedWithCode(1), "secret.yaml: cannot open: Permission denied");
}

}  // namespace
}  // namespace postern::config
