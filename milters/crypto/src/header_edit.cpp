#include "postern/crypto/header_edit.hpp"

#include <algorithm>
#include <optional>

#include "postern/core/strings.hpp"
#include "postern/mime/header.hpp"

namespace postern::crypto {

namespace {

std::string lf_folds(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') continue;
    out += raw[i];
  }
  return out;
}

std::string crlf_folds(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) out += '\r';
    out += value[i];
  }
  return out;
}

std::vector<const Field*> named(const std::vector<Field>& fields, std::string_view name) {
  std::vector<const Field*> out;
  for (const Field& f : fields) {
    if (core::iequals(f.name, name)) out.push_back(&f);
  }
  return out;
}

}  // namespace

std::vector<Field> fields_of(std::string_view message) {
  const mime::HeaderBlock block = mime::HeaderBlock::parse(message);
  std::vector<Field> out;
  out.reserve(block.fields().size());
  for (const mime::Header& h : block.fields()) out.push_back({h.name, lf_folds(h.raw_value)});
  return out;
}

std::string header_block(const std::vector<Field>& fields) {
  std::string out;
  for (const Field& f : fields) {
    out += f.name;
    out += ':';
    out += crlf_folds(f.value);
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

int apply_header_changes(const std::vector<Field>& before, const std::vector<Field>& after, milter::Actions& actions) {
  // Every name once, in order of first appearance: before's, then after's.
  std::vector<std::string> names;
  auto note = [&names](const std::string& name) {
    if (std::none_of(names.begin(), names.end(), [&](const std::string& n) { return core::iequals(n, name); })) {
      names.push_back(name);
    }
  };
  for (const Field& f : before) note(f.name);
  for (const Field& f : after) note(f.name);

  int changes = 0;
  std::vector<const Field*> additions;
  for (const std::string& name : names) {
    const auto old_fields = named(before, name);
    const auto new_fields = named(after, name);
    const std::size_t common = std::min(old_fields.size(), new_fields.size());
    for (std::size_t i = 0; i < common; ++i) {
      if (old_fields[i]->value != new_fields[i]->value) {
        actions.change_header(old_fields[i]->name, static_cast<int>(i + 1), new_fields[i]->value);
        ++changes;
      }
    }
    for (std::size_t i = old_fields.size(); i > common; --i) {
      actions.change_header(old_fields[i - 1]->name, static_cast<int>(i), std::nullopt);
      ++changes;
    }
    for (std::size_t i = common; i < new_fields.size(); ++i) additions.push_back(new_fields[i]);
  }
  // Additions in the result's order, after every change and deletion.
  std::stable_sort(additions.begin(), additions.end(), [&after](const Field* a, const Field* b) {
    return (a - after.data()) < (b - after.data());
  });
  for (const Field* f : additions) {
    actions.add_header(f->name, f->value);
    ++changes;
  }
  return changes;
}

}  // namespace postern::crypto
