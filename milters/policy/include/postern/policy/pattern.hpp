// NAME
//   pattern - address and file name patterns of the policy language
// SUMMARY
//   AddressMatcher m = AddressMatcher::compile(node, lists, diags);
//   if (m.matches(normalize_address(rcpt))) ...
// DESCRIPTION
//   An address pattern is one of (checked in this order):
//     <>              the null sender
//     /REGEX/         RE2, searched anywhere in the address (anchor with ^ $)
//     list:NAME       every pattern of the named list
//     text with * ?   a wildcard over the whole address (* any run, ? one byte)
//     @DOMAIN         any address at exactly that domain
//     LOCAL@DOMAIN    exactly that address
//   Addresses are compared in the form of normalize_address() (facts.hpp):
//   lowercase, domain in A-labels; exact and domain patterns are normalized
//   the same way when loaded, so "Bob@Exämple.org" finds "bob@xn--exmple-cua.org".
//   Wildcards and regexes see the normalized address; write them in lowercase
//   and A-labels. RE2 runs in linear time, so no pattern can stall the milter.
//   Exact and domain patterns sit in hash sets: a list of thousands of
//   addresses costs one lookup.
//
//   A name pattern (attachment file names) is a wildcard compared without
//   regard to ASCII case, or /REGEX/.
// DIAGNOSTICS
//   compile() adds an error with file:line:col to the diagnostics for a bad
//   regex, an unknown list, a list reference inside a list, or text that is
//   none of the forms; the pattern is then left out.
// THREADS
//   Immutable after compile; share freely.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "postern/config/node.hpp"
#include "postern/core/error.hpp"

namespace re2 {
class RE2;
}

namespace postern::policy {

// Case-sensitive glob over bytes: '*' any run (also empty), '?' one byte.
bool glob_match(std::string_view pattern, std::string_view text) noexcept;

class AddressMatcher;
using NamedLists = std::unordered_map<std::string, std::shared_ptr<const AddressMatcher>>;

class AddressMatcher {
 public:
  // One scalar or a list of scalars. lists is nullptr while compiling a
  // list itself: lists do not nest.
  static AddressMatcher compile(const config::Node& node, const NamedLists* lists,
                                std::vector<core::Diagnostic>& diagnostics);
  // One pattern as text (list files); where locates it.
  void add(std::string_view text, const core::Location& where, const NamedLists* lists,
           std::vector<core::Diagnostic>& diagnostics);

  bool matches(std::string_view normalized_address) const;
  std::size_t size() const noexcept { return sources_.size(); }
  // The patterns as written, in order (policy dump).
  const std::vector<std::string>& sources() const noexcept { return sources_; }

 private:
  struct Pattern {
    enum class Kind { null_sender, regex, list, wildcard, domain, exact } kind;
    std::string text;
    std::shared_ptr<const re2::RE2> regex;
    std::shared_ptr<const AddressMatcher> list;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Set = std::unordered_set<std::string, Hash, std::equal_to<>>;
  // Exact addresses and domains are looked up in hash sets, so a list of
  // thousands costs as much as a list of one; the rest are tried in order.
  bool null_sender_ = false;
  Set exact_;
  Set domains_;
  std::vector<Pattern> patterns_;
  std::vector<std::string> sources_;
};

class NameMatcher {
 public:
  static NameMatcher compile(const config::Node& node, std::vector<core::Diagnostic>& diagnostics);
  bool matches(std::string_view name) const;

 private:
  std::vector<std::string> wildcards_;  // lowercase
  std::vector<std::shared_ptr<const re2::RE2>> regexes_;
};

// Compiles /REGEX/ text (without the slashes); adds an error and returns
// nullptr when RE2 refuses it.
std::shared_ptr<const re2::RE2> compile_regex(std::string_view pattern, const core::Location& where,
                                              std::vector<core::Diagnostic>& diagnostics);

// The scalar items of a node that must be one scalar or a list of scalars;
// an error for anything else.
std::vector<const config::Node*> scalar_items(const config::Node& node, std::vector<core::Diagnostic>& diagnostics);

}  // namespace postern::policy
