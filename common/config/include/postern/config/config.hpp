// NAME
//   config - a validated, immutable configuration
// SUMMARY
//   auto cfg = std::make_shared<const Config>(load_file(schema, path));
//   cfg->get_size("incamail.max_size");
// DESCRIPTION
//   load_file parses with node.hpp and validates against the schema: unknown
//   keys (with a "did you mean" hint when a declared key is close), wrong
//   types, out-of-range values, bad choices, missing required keys and
//   non-mapping sections are all errors with file:line:column. All problems
//   are collected and thrown together. Keys not in the file take their
//   declared default.
//   Getters take a declared path of the matching type; asking for an
//   undeclared path or the wrong type is a programming error (std::logic_error).
// THREADS
//   A Config is immutable after load: share it as shared_ptr<const Config>.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "postern/config/node.hpp"
#include "postern/config/schema.hpp"
#include "postern/core/error.hpp"
#include "postern/core/net.hpp"

namespace postern::config {

class Config {
 public:
  bool get_bool(std::string_view path) const;
  std::int64_t get_int(std::string_view path) const;
  std::uint64_t get_size(std::string_view path) const;
  std::chrono::milliseconds get_duration(std::string_view path) const;
  const std::string& get_string(std::string_view path) const;  // string and path
  const std::vector<std::string>& get_list(std::string_view path) const;
  const std::vector<core::Network>& get_networks(std::string_view path) const;

  // Where the value came from: the file location, or {"<default>",0,0}.
  const core::Location& where(std::string_view path) const;
  bool is_set(std::string_view path) const;  // written in the file
  const std::string& source() const noexcept { return source_; }
  const Schema& schema() const noexcept { return *schema_; }

  struct Value;  // implementation detail, defined in src/value.hpp

 private:
  friend Config validate(const Schema&, const Node&, const std::string&);
  const Value& value(std::string_view path, Type expected) const;
  const Schema* schema_ = nullptr;  // schemas are static objects that outlive configs
  std::string source_;
  std::map<std::string, std::shared_ptr<const Value>, std::less<>> values_;
};

// Validate a parsed tree (throws core::ConfigError with all diagnostics).
Config validate(const Schema& schema, const Node& root, const std::string& source);
Config load_file(const Schema& schema, const std::string& path);
Config load_string(const Schema& schema, std::string_view yaml, const std::string& name);
// All defaults; required keys make this throw.
Config defaults(const Schema& schema);

// The enum value a string key with declared choices names, by a table of
// (choice, value) pairs. The schema's choices make a miss a programming
// error (the table and the choices drifted); it throws core::ConfigError at
// the key's location rather than returning a wrong value.
template <typename Enum>
Enum choose(const Config& c, std::string_view path, std::initializer_list<std::pair<const char*, Enum>> table) {
  const std::string& text = c.get_string(path);
  for (const auto& [name, value] : table) {
    if (text == name) return value;
  }
  throw core::ConfigError(c.where(path), std::string(path) + ": unhandled choice '" + text + "'");
}

// Value parsers shared with other YAML readers (policy files): each throws
// core::ConfigError at `where` with a clear message. Sizes are at most
// INT64_MAX bytes and durations at most INT64_MAX ms; anything larger is an
// error, never a wrapped value.
bool parse_bool(std::string_view text, const core::Location& where);
std::uint64_t parse_size(std::string_view text, const core::Location& where);
std::chrono::milliseconds parse_duration(std::string_view text, const core::Location& where);

}  // namespace postern::config
