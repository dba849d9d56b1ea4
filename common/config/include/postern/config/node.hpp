// NAME
//   node - a strict YAML reader that remembers where everything came from
// SUMMARY
//   Node doc = parse_file("/etc/postern/incamail.yaml");
//   if (const Node* n = doc.find("milter")) ...
// DESCRIPTION
//   yaml-cpp 0.7 silently keeps the last of duplicate keys and reads y/yes/on
//   as booleans. This reader builds its own tree from yaml-cpp's event parser:
//   every node carries file:line:column, duplicate keys in one mapping are
//   errors, scalars stay text (the schema decides their type), and a scalar
//   remembers whether it was quoted (any non-plain style, or !!str). Aliases
//   are resolved by copy, within limits that stop "billion laughs" documents;
//   tags other than !!str, !!seq and !!map, NUL characters in scalars,
//   non-scalar mapping keys and more than one document per file are errors.
// DIAGNOSTICS
//   Throws core::ConfigError carrying every problem found with its location
//   (lines and columns count from 1). A YAML syntax error stops the parse: it
//   is reported after the problems found before it.
// THREADS
//   Nodes are values; a parsed tree is immutable and may be shared.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "postern/core/error.hpp"

namespace postern::config {

class Node {
 public:
  enum class Kind { null, scalar, sequence, map };

  Node() = default;
  static Node make_null(core::Location where);
  static Node make_scalar(std::string text, bool quoted, core::Location where);
  static Node make_sequence(std::vector<Node> items, core::Location where);
  static Node make_map(std::vector<std::pair<Node, Node>> entries, core::Location where);

  Kind kind() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == Kind::null; }
  bool is_scalar() const noexcept { return kind_ == Kind::scalar; }
  bool is_sequence() const noexcept { return kind_ == Kind::sequence; }
  bool is_map() const noexcept { return kind_ == Kind::map; }
  const core::Location& where() const noexcept { return where_; }

  // Scalar text as written (after YAML unescaping); empty for other kinds.
  const std::string& text() const noexcept { return text_; }
  bool quoted() const noexcept { return quoted_; }
  // Sequence items, or map entries in file order (key nodes carry marks).
  const std::vector<Node>& items() const noexcept { return items_; }
  const std::vector<std::pair<Node, Node>>& entries() const noexcept { return entries_; }
  // Map lookup by scalar key; nullptr when absent or when this is not a map.
  const Node* find(std::string_view key) const noexcept;

  static const char* kind_name(Kind kind) noexcept;  // "mapping", "list", "scalar", "null"

 private:
  Kind kind_ = Kind::null;
  core::Location where_;
  std::string text_;
  bool quoted_ = false;
  std::vector<Node> items_;
  std::vector<std::pair<Node, Node>> entries_;
};

// An empty file or a file holding only comments gives a null node located at
// {name, 0, 0}. parse_file refuses what is not a readable regular file.
Node parse_file(const std::string& path);
Node parse_string(std::string_view yaml, const std::string& name);

// Text as diagnostics show it: in single quotes, control characters escaped as
// \xNN so a message stays on one line, long text shortened with "...".
std::string quote(std::string_view text);

}  // namespace postern::config
