// NAME
//   value - typed configuration values, shared by validation, schema and reference
// DESCRIPTION
//   Private to postern_config. Schema::key() checks a declared default with the
//   same conversion that validates the file, so the two cannot disagree.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "postern/config/config.hpp"

namespace postern::config {

struct Config::Value {
  Type type = Type::string;
  core::Location where;
  bool set = false;  // written in the file
  std::variant<bool, std::int64_t, std::uint64_t, std::chrono::milliseconds, std::string,
               std::vector<std::string>, std::vector<core::Network>>
      data;
};

namespace detail {

// Converts a node to the key's type and checks range and choices. Problems are
// appended to diagnostics, each starting with the key path; nullopt then.
std::optional<Config::Value> convert(const KeySpec& spec, const Node& node,
                                     std::vector<core::Diagnostic>& diagnostics);

// The value of a key the file leaves out, located at {"<default>", 0, 0}.
// Throws core::ConfigError when the declared default does not validate.
Config::Value default_value(const KeySpec& spec);

// A limit as an admin would write it: 1G, 30s, 5m; integers as they are.
std::string format_limit(Type type, std::int64_t value);

// "a.b" for "a.b.c"; empty for a top-level path.
std::string_view parent_path(std::string_view path) noexcept;

}  // namespace detail
}  // namespace postern::config
