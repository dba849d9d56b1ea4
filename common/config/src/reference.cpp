#include <string>

#include "postern/config/schema.hpp"
#include "value.hpp"

namespace postern::config {
namespace {

// Table cells stay on one line and never end the cell early.
std::string cell(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string code(std::string_view text) { return "`" + cell(text) + "`"; }

std::string default_cell(const KeySpec& key) {
  if (key.required) {
    return "*required*";
  }
  return key.default_value.empty() ? "*empty*" : code(key.default_value);
}

std::string allowed_cell(const KeySpec& key) {
  switch (key.type) {
    case Type::boolean: return "`true`, `false`";
    case Type::path: return "absolute path";
    case Type::network_list: return "IP addresses and CIDR prefixes";
    case Type::string: {
      std::string out;
      for (const auto& choice : key.choices) {
        out += (out.empty() ? "" : ", ") + code(choice);
      }
      return out;
    }
    case Type::integer:
    case Type::size:
    case Type::duration:
      if (key.min && key.max) {
        return detail::format_limit(key.type, *key.min) + " to " + detail::format_limit(key.type, *key.max);
      }
      if (key.min) {
        return "at least " + detail::format_limit(key.type, *key.min);
      }
      if (key.max) {
        return "at most " + detail::format_limit(key.type, *key.max);
      }
      return "";
    case Type::string_list: return "";
  }
  return "";
}

void append_table(std::string& out, const Schema& schema, std::string_view section) {
  bool header = false;
  for (const auto& key : schema.keys()) {
    if (detail::parent_path(key.path) != section) {
      continue;
    }
    if (!header) {
      out += "| key | type | default | allowed | description |\n|---|---|---|---|---|\n";
      header = true;
    }
    out += "| " + code(key.path) + " | " + type_name(key.type) + " | " + default_cell(key) + " | " +
           allowed_cell(key) + " | " + cell(key.doc) + " |\n";
  }
  if (header) {
    out += '\n';
  }
}

}  // namespace

std::string reference_markdown(const Schema& schema) {
  std::string out = "# " + schema.program() + " configuration reference\n\n";
  if (!schema.doc().empty()) {
    out += schema.doc() + "\n\n";
  }
  append_table(out, schema, "");  // top-level keys, outside any section
  for (const auto& [path, doc] : schema.sections()) {
    out += "## " + path + "\n\n";
    if (!doc.empty()) {
      out += doc + "\n\n";
    }
    append_table(out, schema, path);
  }
  return out;
}

}  // namespace postern::config
