#include "postern/config/config.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>
#include <stdexcept>

#include "value.hpp"

namespace postern::config {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

const core::Location& default_location() {
  static const core::Location where{"<default>", 0, 0};
  return where;
}

// Leading decimal digits and what follows them; nullopt without digits.
// overflow: the digits do not fit in 64 bits.
struct Number {
  std::uint64_t value = 0;
  std::string_view suffix;
  bool overflow = false;
};

std::optional<Number> leading_number(std::string_view text) {
  Number n;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n.value);
  if (ec == std::errc::invalid_argument) {
    return std::nullopt;
  }
  n.overflow = ec == std::errc::result_out_of_range;
  n.suffix = text.substr(static_cast<std::size_t>(end - text.data()));
  return n;
}

// number * unit, or nullopt when the product exceeds INT64_MAX.
std::optional<std::int64_t> scaled(const Number& n, std::int64_t unit) {
  if (n.overflow || n.value > static_cast<std::uint64_t>(kInt64Max / unit)) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(n.value) * unit;
}

std::int64_t parse_integer(std::string_view text, const core::Location& where) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) {
    throw core::ConfigError(where, quote(text) + " is out of range for an integer");
  }
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw core::ConfigError(where, quote(text) + " is not an integer");
  }
  return value;
}

const char* describe(Type type) {
  switch (type) {
    case Type::boolean: return "true or false";
    case Type::integer: return "an integer";
    case Type::size: return "a size";
    case Type::duration: return "a duration";
    case Type::string: return "a string";
    case Type::path: return "an absolute path";
    case Type::string_list: return "a list";
    case Type::network_list: return "a list of networks";
  }
  return "a value";
}

// Edit distance for "did you mean" hints; anything above 2 is reported as 3.
std::size_t distance(std::string_view a, std::string_view b) {
  constexpr std::size_t kFar = 3;
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) >= kFar) {
    return kFar;
  }
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return std::min(row[b.size()], kFar);
}

std::string_view last_part(std::string_view path) { return path.substr(path.rfind('.') + 1); }

// " (did you mean 'x'?)" for a declared key or section close to an unknown
// one: a sibling within edit distance 2, else the same name in another section.
std::string hint(const Schema& schema, std::string_view parent, std::string_view name) {
  std::vector<std::string_view> candidates;
  for (const auto& key : schema.keys()) {
    candidates.emplace_back(key.path);
  }
  for (const auto& section : schema.sections()) {
    candidates.emplace_back(section.first);
  }
  std::string_view best;
  std::size_t best_distance = 3;
  for (const auto candidate : candidates) {
    if (detail::parent_path(candidate) == parent) {
      const std::size_t d = distance(name, last_part(candidate));
      if (d < best_distance) {
        best = candidate;
        best_distance = d;
      }
    }
  }
  if (best.empty()) {
    const auto it = std::find_if(candidates.begin(), candidates.end(),
                                 [name](std::string_view c) { return last_part(c) == name; });
    if (it != candidates.end()) {
      best = *it;
    }
  }
  return best.empty() ? std::string() : " (did you mean " + quote(best) + "?)";
}

class Converter {
 public:
  Converter(const KeySpec& spec, std::vector<core::Diagnostic>& diagnostics)
      : spec_(spec), diagnostics_(diagnostics) {}

  std::optional<Config::Value> run(const Node& node) {
    const std::size_t before = diagnostics_.size();
    Config::Value value{spec_.type, node.where(), true, {}};
    try {
      if (spec_.type == Type::string_list || spec_.type == Type::network_list) {
        convert_list(node, value);
      } else if (scalar(node)) {
        convert_scalar(node, value);
      }
    } catch (const core::ConfigError& e) {
      for (const auto& d : e.diagnostics()) {
        problem(d.where, d.message);
      }
    }
    if (diagnostics_.size() != before) {
      return std::nullopt;
    }
    return value;
  }

 private:
  void problem(const core::Location& where, const std::string& message) {
    diagnostics_.push_back(core::Diagnostic{where, spec_.path + ": " + message});
  }

  bool scalar(const Node& node) {
    if (node.is_null()) {
      problem(node.where(), std::string("no value given (expected ") + describe(spec_.type) + ")");
      return false;
    }
    if (!node.is_scalar()) {
      problem(node.where(), std::string("expected ") + describe(spec_.type) + ", got a " +
                                Node::kind_name(node.kind()));
      return false;
    }
    return true;
  }

  void check_range(std::int64_t number, const Node& node) {
    if (spec_.min && number < *spec_.min) {
      problem(node.where(),
              quote(node.text()) + " is less than the minimum " + detail::format_limit(spec_.type, *spec_.min));
    } else if (spec_.max && number > *spec_.max) {
      problem(node.where(),
              quote(node.text()) + " is more than the maximum " + detail::format_limit(spec_.type, *spec_.max));
    }
  }

  void check_choice(const Node& node) {
    if (spec_.choices.empty() ||
        std::find(spec_.choices.begin(), spec_.choices.end(), node.text()) != spec_.choices.end()) {
      return;
    }
    std::string allowed;
    for (const auto& choice : spec_.choices) {
      allowed += (allowed.empty() ? "" : ", ") + choice;
    }
    problem(node.where(), quote(node.text()) + " is not one of: " + allowed);
  }

  void convert_scalar(const Node& node, Config::Value& value) {
    const std::string& text = node.text();
    switch (spec_.type) {
      case Type::boolean:
        value.data = parse_bool(text, node.where());
        break;
      case Type::integer: {
        const std::int64_t number = parse_integer(text, node.where());
        check_range(number, node);
        value.data = number;
        break;
      }
      case Type::size: {
        const std::uint64_t bytes = parse_size(text, node.where());
        check_range(static_cast<std::int64_t>(bytes), node);
        value.data = bytes;
        break;
      }
      case Type::duration: {
        const std::chrono::milliseconds duration = parse_duration(text, node.where());
        check_range(duration.count(), node);
        value.data = duration;
        break;
      }
      case Type::path:
        if (text.empty() || text.front() != '/') {
          problem(node.where(), quote(text) + " is not an absolute path");
        }
        value.data = text;
        break;
      case Type::string:
        check_choice(node);
        value.data = text;
        break;
      case Type::string_list:
      case Type::network_list:
        POSTERN_ASSERT(!"lists are converted by convert_list");
    }
  }

  void convert_list(const Node& node, Config::Value& value) {
    std::vector<std::string> strings;
    std::vector<core::Network> networks;
    if (node.is_scalar()) {
      problem(node.where(), "expected " + std::string(describe(spec_.type)) + ", got a scalar: write [" +
                                quote(node.text()) + "] for a list of one");
    } else if (node.is_map()) {
      problem(node.where(), "expected " + std::string(describe(spec_.type)) + ", got a mapping");
    }
    // A null value (the key with nothing after it) is an empty list.
    for (const auto& item : node.items()) {
      if (!item.is_scalar()) {
        problem(item.where(), std::string("list items must be scalars, not a ") + Node::kind_name(item.kind()));
      } else if (spec_.type == Type::string_list) {
        strings.push_back(item.text());
      } else {
        try {
          networks.push_back(core::Network::parse(item.text()));
        } catch (const std::invalid_argument& e) {
          problem(item.where(), e.what());
        }
      }
    }
    if (spec_.type == Type::string_list) {
      value.data = std::move(strings);
    } else {
      value.data = std::move(networks);
    }
  }

  const KeySpec& spec_;
  std::vector<core::Diagnostic>& diagnostics_;
};

using Values = std::map<std::string, std::shared_ptr<const Config::Value>, std::less<>>;

// Walks the file against the schema: every mapping entry is a declared key,
// a declared section or a problem.
class Validator {
 public:
  Validator(const Schema& schema, std::string source) : schema_(schema), source_(std::move(source)) {}

  Values run(const Node& root) {
    if (root.is_map()) {
      walk(root, "");
    } else if (!root.is_null()) {
      error(root.where(), std::string("the top level must be a mapping, not a ") + Node::kind_name(root.kind()));
    }
    for (const auto& spec : schema_.keys()) {
      if (written_.count(spec.path) != 0) {
        continue;
      }
      if (spec.required) {
        const auto section = sections_.find(detail::parent_path(spec.path));
        error(section != sections_.end() ? section->second : core::Location{source_, 0, 0},
              "missing required key " + quote(spec.path));
      } else {
        values_.emplace(spec.path, std::make_shared<const Config::Value>(detail::default_value(spec)));
      }
    }
    if (!diagnostics_.empty()) {
      throw core::ConfigError(std::move(diagnostics_));
    }
    return std::move(values_);
  }

 private:
  void error(core::Location where, std::string message) {
    diagnostics_.push_back(core::Diagnostic{std::move(where), std::move(message)});
  }

  void walk(const Node& map, const std::string& prefix) {
    for (const auto& [key, value] : map.entries()) {
      const std::string& name = key.text();
      if (name.find('.') != std::string::npos) {
        // "milter.socket: x" at the top would otherwise match a nested key.
        error(key.where(), "key " + quote(name) + " contains '.': nest its parts as mappings");
        continue;
      }
      const std::string path = prefix.empty() ? name : prefix + "." + name;
      if (const KeySpec* spec = schema_.find(path)) {
        written_.insert(path);
        if (auto converted = Converter(*spec, diagnostics_).run(value)) {
          values_.emplace(path, std::make_shared<const Config::Value>(std::move(*converted)));
        }
      } else if (schema_.is_section(path)) {
        sections_.emplace(path, key.where());
        if (value.is_map()) {
          walk(value, path);
        } else if (!value.is_null()) {  // a section with everything commented out
          error(value.where(), path + ": expected a mapping (a section), got a " + Node::kind_name(value.kind()));
        }
      } else {
        error(key.where(), "unknown key " + quote(path) + hint(schema_, prefix, name));
      }
    }
  }

  const Schema& schema_;
  std::string source_;
  Values values_;
  std::set<std::string, std::less<>> written_;  // keys in the file, valid or not
  std::map<std::string, core::Location, std::less<>> sections_;  // where each is written
  std::vector<core::Diagnostic> diagnostics_;
};

const Config::Value& find_value(const Values& values, std::string_view path) {
  const auto it = values.find(path);
  if (it == values.end()) {
    throw std::logic_error("configuration key '" + std::string(path) + "' is not declared");
  }
  return *it->second;
}

}  // namespace

namespace detail {

std::optional<Config::Value> convert(const KeySpec& spec, const Node& node,
                                     std::vector<core::Diagnostic>& diagnostics) {
  return Converter(spec, diagnostics).run(node);
}

Config::Value default_value(const KeySpec& spec) {
  Config::Value value{spec.type, default_location(), false, {}};
  if (spec.default_value.empty()) {
    switch (spec.type) {
      case Type::string:
      case Type::path: value.data = std::string(); return value;
      case Type::string_list: value.data = std::vector<std::string>(); return value;
      case Type::network_list: value.data = std::vector<core::Network>(); return value;
      default: throw core::ConfigError(default_location(), spec.path + ": no default value, and not required");
    }
  }
  std::vector<core::Diagnostic> diagnostics;
  auto converted = convert(spec, parse_string(spec.default_value, default_location().file), diagnostics);
  if (!converted) {
    throw core::ConfigError(std::move(diagnostics));
  }
  converted->where = default_location();
  converted->set = false;
  return std::move(*converted);
}

std::string format_limit(Type type, std::int64_t value) {
  struct Unit {
    std::int64_t factor;
    const char* suffix;
  };
  static constexpr Unit kSizes[] = {{1024 * 1024 * 1024, "G"}, {1024 * 1024, "M"}, {1024, "K"}};
  static constexpr Unit kDurations[] = {{3600 * 1000, "h"}, {60 * 1000, "m"}, {1000, "s"}, {1, "ms"}};
  auto render = [value](const auto& units, const char* fallback) {
    for (const auto& unit : units) {
      if (value != 0 && value % unit.factor == 0) {
        return std::to_string(value / unit.factor) + unit.suffix;
      }
    }
    return std::to_string(value) + fallback;
  };
  switch (type) {
    case Type::size: return render(kSizes, "");
    case Type::duration: return render(kDurations, "ms");
    default: return std::to_string(value);
  }
}

}  // namespace detail

bool parse_bool(std::string_view text, const core::Location& where) {
  if (text == "true") {
    return true;
  }
  if (text == "false") {
    return false;
  }
  // yes/no/on/off and True/FALSE mean different things to different YAML
  // readers; one spelling leaves no doubt.
  throw core::ConfigError(where, quote(text) + " is not a boolean: use true or false");
}

std::uint64_t parse_size(std::string_view text, const core::Location& where) {
  const auto number = leading_number(text);
  std::int64_t unit = 0;
  if (number) {
    const std::string_view s = number->suffix;
    unit = s.empty()               ? 1
           : s == "K" || s == "k" ? 1024
           : s == "M" || s == "m" ? 1024 * 1024
           : s == "G" || s == "g" ? 1024 * 1024 * 1024
                                  : 0;
  }
  if (unit == 0) {
    throw core::ConfigError(where, quote(text) + " is not a size: write bytes, or a number with K, M or G");
  }
  const auto bytes = scaled(*number, unit);
  if (!bytes) {
    throw core::ConfigError(where, quote(text) + " is too large for a size");
  }
  return static_cast<std::uint64_t>(*bytes);
}

std::chrono::milliseconds parse_duration(std::string_view text, const core::Location& where) {
  const auto number = leading_number(text);
  std::int64_t unit = 0;
  if (number) {
    const std::string_view s = number->suffix;
    unit = s == "ms"             ? 1
           : s.empty() || s == "s" ? 1000
           : s == "m"              ? 60 * 1000
           : s == "h"              ? 3600 * 1000
                                   : 0;
  }
  if (unit == 0) {
    throw core::ConfigError(where, quote(text) + " is not a duration: write a number with ms, s, m or h");
  }
  const auto ms = scaled(*number, unit);
  if (!ms) {
    throw core::ConfigError(where, quote(text) + " is too large for a duration");
  }
  return std::chrono::milliseconds(*ms);
}

Config validate(const Schema& schema, const Node& root, const std::string& source) {
  Config config;
  config.schema_ = &schema;
  config.source_ = source;
  config.values_ = Validator(schema, source).run(root);
  return config;
}

Config load_file(const Schema& schema, const std::string& path) { return validate(schema, parse_file(path), path); }

Config load_string(const Schema& schema, std::string_view yaml, const std::string& name) {
  return validate(schema, parse_string(yaml, name), name);
}

Config defaults(const Schema& schema) {
  const std::string source = "<defaults>";
  return validate(schema, Node::make_null(core::Location{source, 0, 0}), source);
}

const Config::Value& Config::value(std::string_view path, Type expected) const {
  const Value& v = find_value(values_, path);
  // A path is a string with a rule; get_string reads both.
  if (v.type != expected && !(expected == Type::string && v.type == Type::path)) {
    throw std::logic_error("configuration key '" + std::string(path) + "' has type " + type_name(v.type) +
                           ", read as " + type_name(expected));
  }
  return v;
}

bool Config::get_bool(std::string_view path) const { return std::get<bool>(value(path, Type::boolean).data); }

std::int64_t Config::get_int(std::string_view path) const {
  return std::get<std::int64_t>(value(path, Type::integer).data);
}

std::uint64_t Config::get_size(std::string_view path) const {
  return std::get<std::uint64_t>(value(path, Type::size).data);
}

std::chrono::milliseconds Config::get_duration(std::string_view path) const {
  return std::get<std::chrono::milliseconds>(value(path, Type::duration).data);
}

const std::string& Config::get_string(std::string_view path) const {
  return std::get<std::string>(value(path, Type::string).data);
}

const std::vector<std::string>& Config::get_list(std::string_view path) const {
  return std::get<std::vector<std::string>>(value(path, Type::string_list).data);
}

const std::vector<core::Network>& Config::get_networks(std::string_view path) const {
  return std::get<std::vector<core::Network>>(value(path, Type::network_list).data);
}

const core::Location& Config::where(std::string_view path) const { return find_value(values_, path).where; }

bool Config::is_set(std::string_view path) const { return find_value(values_, path).set; }

}  // namespace postern::config
