#include "postern/config/node.hpp"
#include "postern/core/strings.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>
#include <sstream>
#include <system_error>
#include <unordered_map>

#include "postern/core/fd.hpp"

namespace postern::config {
namespace {

// Configuration and policy files are small; these bounds only stop hostile or
// mistaken input (a device file, alias bombs, runaway nesting).
constexpr std::size_t kMaxFileSize = 16 * 1024 * 1024;
constexpr std::size_t kMaxAliasNodes = 100000;  // nodes copied by all aliases
constexpr std::size_t kMaxDepth = 64;           // nested lists and mappings
constexpr std::size_t kMaxQuoted = 80;

constexpr std::string_view kCoreTagPrefix = "tag:yaml.org,2002:";

std::string tag_name(const std::string& tag) {
  if (tag.compare(0, kCoreTagPrefix.size(), kCoreTagPrefix) == 0) {
    return "!!" + tag.substr(kCoreTagPrefix.size());
  }
  return tag;
}

struct Shape {
  std::size_t nodes = 0;
  std::size_t depth = 0;
};

Shape shape_of(const Node& node) {
  Shape shape{1, 0};
  auto add = [&shape](const Node& child) {
    const Shape s = shape_of(child);
    shape.nodes += s.nodes;
    shape.depth = std::max(shape.depth, s.depth + 1);
  };
  for (const auto& item : node.items()) {
    add(item);
  }
  for (const auto& [key, value] : node.entries()) {
    add(key);
    add(value);
  }
  return shape;
}

// Builds the tree from yaml-cpp's events. Problems that leave the structure
// intact (duplicate keys, bad tags) are collected and parsing goes on; the
// others stop it through fail().
class Builder final : public YAML::EventHandler {
 public:
  explicit Builder(std::string name) : name_(std::move(name)) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1) {
      fail(at(mark), "a second YAML document: a file holds exactly one");
    }
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    add(Node::make_null(at(mark)), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      // yaml-cpp itself refuses undefined anchors; what is left is an alias
      // inside the very node it names.
      fail(at(mark), "alias refers to a node that contains it");
    }
    const Shape shape = shape_of(it->second);
    if (shape.nodes > alias_budget_) {
      fail(at(mark), "aliases expand to more than " + std::to_string(kMaxAliasNodes) + " nodes");
    }
    alias_budget_ -= shape.nodes;
    check_depth(stack_.size() + shape.depth, mark);
    Node copy = it->second;
    relocate(copy, at(mark));
    add(std::move(copy), YAML::NullAnchor);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    check_tag(tag, "str", mark);
    if (value.find('\0') != std::string::npos) {
      error(at(mark), "scalar contains a NUL character");
    }
    // yaml-cpp reports "?" for a plain scalar and "!" for any quoted or block
    // scalar: only plain scalars are open to YAML's implicit typing.
    add(Node::make_scalar(value, tag != "?", at(mark)), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    open(Node::Kind::sequence, mark, tag, "seq", anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    open(Node::Kind::map, mark, tag, "map", anchor);
  }
  void OnMapEnd() override { close(); }

  // A syntax error from yaml-cpp ends the parse; mark may be null when the
  // library does not know where.
  [[noreturn]] void syntax_error(const YAML::Exception& e) {
    fail(e.mark.is_null() ? core::Location{name_, 0, 0} : at(e.mark), "invalid YAML: " + e.msg);
  }

  Node finish() {
    if (!diagnostics_.empty()) {
      throw core::ConfigError(std::move(diagnostics_));
    }
    return root_ ? std::move(*root_) : Node::make_null(core::Location{name_, 0, 0});
  }

 private:
  struct Frame {
    Node::Kind kind;
    core::Location where;
    YAML::anchor_t anchor;
    std::vector<Node> items;
    std::vector<std::pair<Node, Node>> entries;
    std::optional<Node> key;  // a mapping key waiting for its value
    bool key_usable = false;  // false: drop the entry, the key was reported
    std::unordered_map<std::string, int> key_lines;
  };

  core::Location at(const YAML::Mark& mark) const { return {name_, mark.line + 1, mark.column + 1}; }

  void error(core::Location where, std::string message) {
    diagnostics_.push_back(core::Diagnostic{std::move(where), std::move(message)});
  }

  [[noreturn]] void fail(core::Location where, std::string message) {
    error(std::move(where), std::move(message));
    throw core::ConfigError(std::move(diagnostics_));
  }

  void check_depth(std::size_t depth, const YAML::Mark& mark) {
    if (depth > kMaxDepth) {
      fail(at(mark), "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    }
  }

  // An alias copy is reported where the alias is written; what it contains
  // keeps the locations of the anchored text.
  static void relocate(Node& node, core::Location where) {
    switch (node.kind()) {
      case Node::Kind::null: node = Node::make_null(std::move(where)); break;
      case Node::Kind::scalar: node = Node::make_scalar(node.text(), node.quoted(), std::move(where)); break;
      case Node::Kind::sequence: node = Node::make_sequence(node.items(), std::move(where)); break;
      case Node::Kind::map: node = Node::make_map(node.entries(), std::move(where)); break;
    }
  }

  // "?" means no tag and "!" the non-specific one; the only explicit tag a
  // node may carry is the one naming its own kind.
  void check_tag(const std::string& tag, const char* own, const YAML::Mark& mark) {
    if (tag != "?" && tag != "!" && tag != std::string(kCoreTagPrefix) + own) {
      error(at(mark), "unsupported tag " + quote(tag_name(tag)) + " (only !!str, !!seq and !!map)");
    }
  }

  void open(Node::Kind kind, const YAML::Mark& mark, const std::string& tag, const char* own_tag,
            YAML::anchor_t anchor) {
    check_tag(tag, own_tag, mark);
    check_depth(stack_.size() + 1, mark);
    stack_.push_back(Frame{kind, at(mark), anchor, {}, {}, {}, false, {}});
  }

  void close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    add(frame.kind == Node::Kind::map ? Node::make_map(std::move(frame.entries), frame.where)
                                      : Node::make_sequence(std::move(frame.items), frame.where),
        frame.anchor);
  }

  void add(Node node, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) {
      anchors_[anchor] = node;
    }
    if (stack_.empty()) {
      root_ = std::move(node);
      return;
    }
    Frame& top = stack_.back();
    if (top.kind == Node::Kind::sequence) {
      top.items.push_back(std::move(node));
      return;
    }
    if (!top.key) {
      top.key_usable = accept_key(top, node);
      top.key = std::move(node);
      return;
    }
    // An empty value is reported by yaml-cpp at the next token, often on a
    // later line; its key says better where it is.
    if (node.is_null() && node.where().line != top.key->where().line) {
      node = Node::make_null(top.key->where());
    }
    if (top.key_usable) {
      top.entries.emplace_back(std::move(*top.key), std::move(node));
    }
    top.key.reset();
  }

  bool accept_key(Frame& frame, const Node& key) {
    if (key.is_null()) {
      error(key.where(), "empty mapping key");
      return false;
    }
    if (!key.is_scalar()) {
      error(key.where(), std::string("mapping key must be a scalar, not a ") + Node::kind_name(key.kind()));
      return false;
    }
    const auto [it, inserted] = frame.key_lines.emplace(key.text(), key.where().line);
    if (!inserted) {
      error(key.where(),
            "duplicate key " + quote(key.text()) + " (first at line " + std::to_string(it->second) + ")");
      return false;
    }
    return true;
  }

  std::string name_;
  int documents_ = 0;
  std::vector<Frame> stack_;
  std::optional<Node> root_;
  std::map<YAML::anchor_t, Node> anchors_;  // complete anchored nodes
  std::size_t alias_budget_ = kMaxAliasNodes;
  std::vector<core::Diagnostic> diagnostics_;
};

}  // namespace

Node Node::make_null(core::Location where) {
  Node node;
  node.where_ = std::move(where);
  return node;
}

Node Node::make_scalar(std::string text, bool quoted, core::Location where) {
  Node node;
  node.kind_ = Kind::scalar;
  node.text_ = std::move(text);
  node.quoted_ = quoted;
  node.where_ = std::move(where);
  return node;
}

Node Node::make_sequence(std::vector<Node> items, core::Location where) {
  Node node;
  node.kind_ = Kind::sequence;
  node.items_ = std::move(items);
  node.where_ = std::move(where);
  return node;
}

Node Node::make_map(std::vector<std::pair<Node, Node>> entries, core::Location where) {
  Node node;
  node.kind_ = Kind::map;
  node.entries_ = std::move(entries);
  node.where_ = std::move(where);
  return node;
}

const Node* Node::find(std::string_view key) const noexcept {
  for (const auto& [k, v] : entries_) {
    if (k.is_scalar() && k.text() == key) {
      return &v;
    }
  }
  return nullptr;
}

const char* Node::kind_name(Kind kind) noexcept {
  switch (kind) {
    case Kind::null: return "null";
    case Kind::scalar: return "scalar";
    case Kind::sequence: return "list";
    case Kind::map: return "mapping";
  }
  return "null";
}

Node parse_string(std::string_view yaml, const std::string& name) {
  std::istringstream in{std::string(yaml)};
  YAML::Parser parser(in);
  Builder builder(name);
  try {
    // The second call finds nothing, or a second document that the builder refuses.
    if (parser.HandleNextDocument(builder)) {
      parser.HandleNextDocument(builder);
    }
  } catch (const YAML::Exception& e) {
    builder.syntax_error(e);
  }
  return builder.finish();
}

Node parse_file(const std::string& path) {
  auto fail = [&path](const std::string& why) { throw core::ConfigError(core::Location{path, 0, 0}, why); };
  auto system_error = [&fail](const char* what) {
    fail(std::string(what) + ": " + std::error_code(errno, std::generic_category()).message());
  };
  // O_NONBLOCK so that a FIFO given by mistake cannot hang the open.
  core::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) {
    system_error("cannot open");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    system_error("cannot stat");
  }
  if (!S_ISREG(st.st_mode)) {
    fail(S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
  }
  std::string text;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      system_error("cannot read");
    }
    if (n == 0) {
      break;
    }
    if (text.size() + static_cast<std::size_t>(n) > kMaxFileSize) {
      fail("larger than " + std::to_string(kMaxFileSize / (1024 * 1024)) + " MiB");
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return parse_string(text, path);
}

std::string quote(std::string_view text) {
  std::string out = "'";
  std::size_t shown = text.size();
  if (shown > kMaxQuoted) {
    shown = kMaxQuoted;
    // Cut before a UTF-8 continuation byte so no character is split.
    while (shown > 0 && (static_cast<unsigned char>(text[shown]) & 0xc0) == 0x80) {
      --shown;
    }
  }
  out += core::escape_controls(text.substr(0, shown));
  if (shown < text.size()) {
    out += "...";
  }
  out += '\'';
  return out;
}

}  // namespace postern::config
