#include "postern/config/schema.hpp"

#include <algorithm>
#include <stdexcept>

#include "value.hpp"

namespace postern::config {
namespace {

[[noreturn]] void refuse(std::string_view path, const std::string& why) {
  throw std::logic_error("schema: '" + std::string(path) + "': " + why);
}

// Dot-separated, non-empty parts: the form the validator splits files into.
bool well_formed(std::string_view path) {
  return !path.empty() && path.front() != '.' && path.back() != '.' && path.find("..") == std::string_view::npos;
}

}  // namespace

std::string_view detail::parent_path(std::string_view path) noexcept {
  const auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

const char* type_name(Type type) noexcept {
  switch (type) {
    case Type::boolean: return "boolean";
    case Type::integer: return "integer";
    case Type::size: return "size";
    case Type::duration: return "duration";
    case Type::string: return "string";
    case Type::path: return "path";
    case Type::string_list: return "string_list";
    case Type::network_list: return "network_list";
  }
  return "unknown";
}

Schema::Schema(std::string program, std::string doc) : program_(std::move(program)), doc_(std::move(doc)) {}

Schema& Schema::section(std::string path, std::string doc) {
  if (!well_formed(path)) {
    refuse(path, "not a valid section path");
  }
  if (find(path) != nullptr || is_section(path)) {
    refuse(path, "declared twice");
  }
  const auto parent = detail::parent_path(path);
  if (!parent.empty() && !is_section(parent)) {
    refuse(path, "parent section '" + std::string(parent) + "' is not declared");
  }
  sections_.emplace_back(std::move(path), std::move(doc));
  return *this;
}

Schema& Schema::key(KeySpec spec) {
  const std::string& path = spec.path;
  if (!well_formed(path)) {
    refuse(path, "not a valid key path");
  }
  if (find(path) != nullptr || is_section(path)) {
    refuse(path, "declared twice");
  }
  const auto parent = detail::parent_path(path);
  if (!parent.empty() && !is_section(parent)) {
    refuse(path, "section '" + std::string(parent) + "' is not declared");
  }
  const bool ranged = spec.type == Type::integer || spec.type == Type::size || spec.type == Type::duration;
  if ((spec.min || spec.max) && !ranged) {
    refuse(path, std::string("a ") + type_name(spec.type) + " has no range");
  }
  if (spec.min && spec.max && *spec.min > *spec.max) {
    refuse(path, "min is greater than max");
  }
  if (!spec.choices.empty() && spec.type != Type::string) {
    refuse(path, "only strings have choices");
  }
  if (spec.required) {
    if (!spec.default_value.empty()) {
      refuse(path, "a required key cannot have a default");
    }
  } else {
    try {
      detail::default_value(spec);
    } catch (const core::ConfigError& e) {
      refuse(path, std::string("bad default: ") + e.what());
    }
  }
  keys_.push_back(std::move(spec));
  return *this;
}

const KeySpec* Schema::find(std::string_view path) const noexcept {
  const auto it = std::find_if(keys_.begin(), keys_.end(), [path](const KeySpec& k) { return k.path == path; });
  return it == keys_.end() ? nullptr : &*it;
}

bool Schema::is_section(std::string_view path) const noexcept {
  return std::any_of(sections_.begin(), sections_.end(), [path](const auto& s) { return s.first == path; });
}

}  // namespace postern::config
