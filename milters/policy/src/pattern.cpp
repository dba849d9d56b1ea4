#include "postern/policy/pattern.hpp"

#include <re2/re2.h>

#include "postern/core/strings.hpp"
#include "postern/mime/address.hpp"
#include "postern/policy/facts.hpp"

namespace postern::policy {
namespace {

void error(std::vector<core::Diagnostic>& diagnostics, const core::Location& where, std::string message) {
  diagnostics.push_back({where, std::move(message), core::Diagnostic::Severity::error});
}

bool is_regex(std::string_view text) noexcept { return text.size() >= 2 && text.front() == '/' && text.back() == '/'; }

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  // Iterative matching with one backtrack point: linear in practice, never
  // exponential, unlike the recursive form.
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::shared_ptr<const re2::RE2> compile_regex(std::string_view pattern, const core::Location& where,
                                              std::vector<core::Diagnostic>& diagnostics) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    error(diagnostics, where, "bad regular expression " + config::quote(pattern) + ": " + re->error());
    return nullptr;
  }
  return re;
}

std::vector<const config::Node*> scalar_items(const config::Node& node, std::vector<core::Diagnostic>& diagnostics) {
  std::vector<const config::Node*> out;
  if (node.is_scalar()) {
    out.push_back(&node);
  } else if (node.is_sequence() && !node.items().empty()) {
    for (const auto& item : node.items()) {
      if (item.is_scalar()) {
        out.push_back(&item);
      } else {
        error(diagnostics, item.where(), std::string("expected a scalar, found a ") + config::Node::kind_name(item.kind()));
      }
    }
  } else {
    error(diagnostics, node.where(),
          std::string("expected a value or a non-empty list of values, found ") +
              (node.is_sequence() ? "an empty list" : std::string("a ") + config::Node::kind_name(node.kind())));
  }
  return out;
}

AddressMatcher AddressMatcher::compile(const config::Node& node, const NamedLists* lists,
                                       std::vector<core::Diagnostic>& diagnostics) {
  AddressMatcher m;
  for (const config::Node* item : scalar_items(node, diagnostics)) {
    m.add(item->text(), item->where(), lists, diagnostics);
  }
  return m;
}

void AddressMatcher::add(std::string_view text, const core::Location& where, const NamedLists* lists,
                         std::vector<core::Diagnostic>& diagnostics) {
  Pattern p;
  if (text == "<>") {
    p.kind = Pattern::Kind::null_sender;
  } else if (is_regex(text)) {
    p.kind = Pattern::Kind::regex;
    p.regex = compile_regex(text.substr(1, text.size() - 2), where, diagnostics);
    if (!p.regex) return;
  } else if (core::istarts_with(text, "list:")) {
    p.kind = Pattern::Kind::list;
    const std::string name(text.substr(5));
    if (lists == nullptr) {
      error(diagnostics, where, "a list cannot refer to another list (" + config::quote(text) + ")");
      return;
    }
    const auto found = lists->find(name);
    if (found == lists->end()) {
      error(diagnostics, where, "unknown list " + config::quote(name));
      return;
    }
    p.list = found->second;
  } else if (text.find_first_of("*?") != std::string_view::npos) {
    p.kind = Pattern::Kind::wildcard;
    p.text = core::ascii_lower(text);
  } else if (text.find('@') != std::string_view::npos) {
    const bool domain_only = text.front() == '@';
    p.kind = domain_only ? Pattern::Kind::domain : Pattern::Kind::exact;
    try {
      const auto box = mime::parse_envelope_path(domain_only ? "x" + std::string(text) : std::string(text));
      if (!box) throw mime::AddressError("empty");
      p.text = domain_only ? box->domain_ascii() : core::ascii_lower(box->local_part) + "@" + box->domain_ascii();
    } catch (const mime::AddressError& e) {
      error(diagnostics, where, "not a valid " + std::string(domain_only ? "@domain" : "address") + " " +
                                    config::quote(text) + ": " + e.what());
      return;
    }
  } else {
    error(diagnostics, where,
          "address pattern " + config::quote(text) +
              " is none of: LOCAL@DOMAIN, @DOMAIN, a wildcard with * or ?, /REGEX/, list:NAME, <>");
    return;
  }
  switch (p.kind) {
    case Pattern::Kind::null_sender: null_sender_ = true; break;
    case Pattern::Kind::exact: exact_.insert(std::move(p.text)); break;
    case Pattern::Kind::domain: domains_.insert(std::move(p.text)); break;
    default: patterns_.push_back(std::move(p)); break;
  }
  sources_.emplace_back(text);
}

bool AddressMatcher::matches(std::string_view address) const {
  if (address.empty() && null_sender_) return true;
  if (!exact_.empty() && exact_.find(address) != exact_.end()) return true;
  if (!domains_.empty()) {
    const auto at = address.rfind('@');
    if (at != std::string_view::npos && domains_.find(address.substr(at + 1)) != domains_.end()) return true;
  }
  for (const auto& p : patterns_) {
    switch (p.kind) {
      case Pattern::Kind::null_sender:
        if (address.empty()) return true;
        break;
      case Pattern::Kind::regex:
        if (re2::RE2::PartialMatch(re2::StringPiece(address.data(), address.size()), *p.regex)) return true;
        break;
      case Pattern::Kind::list:
        if (p.list->matches(address)) return true;
        break;
      case Pattern::Kind::wildcard:
        if (glob_match(p.text, address)) return true;
        break;
      case Pattern::Kind::domain: {
        const auto at = address.rfind('@');
        if (at != std::string_view::npos && address.substr(at + 1) == p.text) return true;
        break;
      }
      case Pattern::Kind::exact:
        if (address == p.text) return true;
        break;
    }
  }
  return false;
}

NameMatcher NameMatcher::compile(const config::Node& node, std::vector<core::Diagnostic>& diagnostics) {
  NameMatcher m;
  for (const config::Node* item : scalar_items(node, diagnostics)) {
    const std::string& text = item->text();
    if (is_regex(text)) {
      if (auto re = compile_regex(std::string_view(text).substr(1, text.size() - 2), item->where(), diagnostics)) {
        m.regexes_.push_back(std::move(re));
      }
    } else if (text.empty()) {
      error(diagnostics, item->where(), "empty file name pattern");
    } else {
      m.wildcards_.push_back(core::ascii_lower(text));
    }
  }
  return m;
}

bool NameMatcher::matches(std::string_view name) const {
  if (!wildcards_.empty()) {
    // Lowercased on the stack when it fits: no allocation per test.
    char buffer[256];
    std::string heap;
    std::string_view lower;
    if (name.size() <= sizeof buffer) {
      for (std::size_t i = 0; i < name.size(); ++i) buffer[i] = core::ascii_lower(name[i]);
      lower = std::string_view(buffer, name.size());
    } else {
      heap = core::ascii_lower(name);
      lower = heap;
    }
    for (const auto& w : wildcards_) {
      if (glob_match(w, lower)) return true;
    }
  }
  for (const auto& re : regexes_) {
    if (re2::RE2::PartialMatch(re2::StringPiece(name.data(), name.size()), *re)) return true;
  }
  return false;
}

}  // namespace postern::policy
