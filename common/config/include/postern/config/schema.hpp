// NAME
//   schema - every configuration key declared once
// SUMMARY
//   Schema s("postern-incamail", "IncaMail tagging and routing");
//   s.section("incamail", "Outbound tagging");
//   s.key({.path = "incamail.max_size", .type = Type::size,
//          .default_value = "30M", .doc = "largest message IncaMail accepts",
//          .min = 1, .max = 1LL << 40});
// DESCRIPTION
//   A key is declared once with its type, default, range and a one-line doc.
//   The same declaration drives validation (config.hpp) and the generated
//   reference (reference_markdown), so the docs cannot drift from the code.
//   Paths are dot-separated mapping keys; sections are the mappings that hold
//   keys and need only be declared to be documented.
//
//   Types and how values are written:
//     boolean      true | false (yes/no/on/off are refused as ambiguous)
//     integer      decimal, within [min, max]
//     size         bytes, with optional K/M/G suffix (1024-based): 30M
//     duration     with unit ms/s/m/h: 500ms, 30s, 5m; a plain number is seconds
//     string       any scalar; choices, when given, restrict it
//     path         a string that must be an absolute path
//     string_list  a YAML list of scalars (a single scalar is refused)
//     network_list a list of IPv4/IPv6 addresses or CIDR prefixes
// THREADS
//   Built at start-up; immutable afterwards.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postern::config {

enum class Type { boolean, integer, size, duration, string, path, string_list, network_list };

const char* type_name(Type type) noexcept;

struct KeySpec {
  std::string path;
  Type type = Type::string;
  std::string default_value;  // as it would be written in YAML; "" and required: no default
  std::string doc;
  bool required = false;
  std::optional<std::int64_t> min;  // integer; size in bytes; duration in milliseconds
  std::optional<std::int64_t> max;
  std::vector<std::string> choices;  // string only
};

class Schema {
 public:
  Schema(std::string program, std::string doc);

  // Declares a key. A second declaration of the same path, a default that does
  // not itself validate, or a key outside any declared section throws
  // std::logic_error: these are programming errors caught by unit tests.
  Schema& key(KeySpec spec);
  Schema& section(std::string path, std::string doc);

  const std::string& program() const noexcept { return program_; }
  const std::string& doc() const noexcept { return doc_; }
  const std::vector<KeySpec>& keys() const noexcept { return keys_; }
  const KeySpec* find(std::string_view path) const noexcept;
  bool is_section(std::string_view path) const noexcept;
  const std::vector<std::pair<std::string, std::string>>& sections() const noexcept { return sections_; }

 private:
  std::string program_;
  std::string doc_;
  std::vector<KeySpec> keys_;
  std::vector<std::pair<std::string, std::string>> sections_;
};

// The generated reference: one Markdown section per schema section, a table of
// key, type, default, range or choices, and doc.
std::string reference_markdown(const Schema& schema);

}  // namespace postern::config
