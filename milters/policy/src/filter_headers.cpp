#include "filter_headers.hpp"

#include <algorithm>
#include <map>

#include "postern/core/strings.hpp"
#include "postern/mime/encoded_word.hpp"
#include "postern/plan/sealer.hpp"

namespace postern::policy::detail {

namespace {

bool removed_by(const plan::Plan& edits, std::string_view name) {
  return std::any_of(edits.remove_headers.begin(), edits.remove_headers.end(),
                     [&](const std::string& n) { return core::iequals(n, name); });
}

// Deletes every field named like `name` (any case), last index first, so
// the indexes of the ones still to go do not move.
void delete_all(const std::vector<Field>& fields, std::string_view name, milter::Actions& actions) {
  const auto count =
      std::count_if(fields.begin(), fields.end(), [&](const Field& f) { return core::iequals(f.name, name); });
  for (auto i = count; i >= 1; --i) actions.change_header(name, static_cast<int>(i), std::nullopt);
}

}  // namespace

bool is_internal_header(std::string_view name) noexcept { return core::istarts_with(name, "X-Postern-"); }

std::optional<std::string> tagged_subject(const std::optional<std::string>& raw, std::string_view tag) {
  return mime::tagged_subject(raw, tag, "\n");
}

std::string header_block(const std::vector<Field>& fields) {
  std::string out;
  for (const Field& f : fields) {
    out += f.name;
    out += ':';
    for (char c : f.value) {
      if (c == '\n') {
        out += "\r\n";
      } else if (c != '\r') {
        out += c;
      }
    }
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

std::vector<Field> edited_fields(const std::vector<Field>& fields, const plan::Plan& edits, const std::string& sealed) {
  std::vector<Field> out;
  bool subject_seen = false;
  for (const Field& f : fields) {
    if (is_internal_header(f.name) || removed_by(edits, f.name)) continue;
    if (!edits.subject_tag.empty() && !subject_seen && core::iequals(f.name, "Subject")) {
      subject_seen = true;
      auto value = tagged_subject(f.value, edits.subject_tag);
      out.push_back({f.name, value ? *value : f.value});
      continue;
    }
    out.push_back(f);
  }
  if (!edits.subject_tag.empty() && !subject_seen && !removed_by(edits, "Subject")) {
    out.push_back({"Subject", *tagged_subject(std::nullopt, edits.subject_tag)});
  }
  for (const auto& h : edits.add_headers) out.push_back({h.name, " " + h.value});
  out.push_back({std::string(plan::kPlanHeader), " " + sealed});
  return out;
}

int strip_internal(const std::vector<Field>& fields, milter::Actions& actions) {
  // One entry per name in any case: libmilter counts indexes among fields
  // of the same name without regard to case.
  std::map<std::string, std::string> names;
  int stripped = 0;
  for (const Field& f : fields) {
    if (!is_internal_header(f.name)) continue;
    names.emplace(core::ascii_lower(f.name), f.name);
    ++stripped;
  }
  for (const auto& [lower, name] : names) delete_all(fields, name, actions);
  return stripped;
}

void apply_edits(const std::vector<Field>& fields, const plan::Plan& edits, milter::Actions& actions) {
  for (const auto& name : edits.remove_headers) delete_all(fields, name, actions);
  if (!edits.subject_tag.empty() && !removed_by(edits, "Subject")) {
    auto first =
        std::find_if(fields.begin(), fields.end(), [](const Field& f) { return core::iequals(f.name, "Subject"); });
    if (first == fields.end()) {
      actions.add_header("Subject", *tagged_subject(std::nullopt, edits.subject_tag));
    } else if (auto value = tagged_subject(first->value, edits.subject_tag)) {
      actions.change_header("Subject", 1, *value);
    }
  }
  for (const auto& h : edits.add_headers) actions.add_header(h.name, " " + h.value);
}

}  // namespace postern::policy::detail
