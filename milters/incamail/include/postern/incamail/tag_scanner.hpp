// NAME
//   tag_scanner - finds IncaMail tags in a decoded Subject
// SUMMARY
//   TagScanner scanner({.position = TagPosition::anywhere, .case_sensitive = false});
//   TagScan scan = scanner.scan("AW: <im><c> Offerte");   // scan.type == MailType::confidential
// DESCRIPTION
//   Swiss Post's tags are "<im><c>" (confidential), "<im><p>" (personal) and
//   "<im><r>" (registered). A tag candidate is "<im>" directly followed by
//   "<": from there up to the next ">" (at most kMaxTagContent printable
//   ASCII characters, no space) is its letter. "<im>" followed by anything
//   else is ordinary text. A candidate with another letter, or one that is
//   not closed, is an unknown tag: reported, never guessed at.
//   With TagPosition::prefix only the run of tags at the start of the
//   subject (leading whitespace and whitespace between tags allowed) counts;
//   with TagPosition::anywhere every candidate in the subject counts, so
//   "Re: <im><c> ..." still matches. case_sensitive applies to "im" and to
//   the letter alike.
//   The same tag repeated (a reply quoting its own subject) is one tag; two
//   different known tags are a conflict.
// THREADS
//   Immutable after construction; scan() is const and reentrant.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::incamail {

enum class MailType { confidential, personal, registered };

// "confidential", "personal", "registered".
const char* to_string(MailType type) noexcept;
// The canonical tag, "<im><c>" etc.
std::string tag_text(MailType type);

enum class TagPosition { prefix, anywhere };

struct TagScan {
  std::vector<MailType> types;       // distinct known tags, in order of first appearance
  std::vector<std::string> unknown;  // unknown or unclosed tags as written (printable ASCII)

  bool tagged() const noexcept { return !types.empty() || !unknown.empty(); }
  // Adds what `other` found that this has not (several Subject headers).
  void merge(const TagScan& other);
  bool conflict() const noexcept { return types.size() > 1; }
  // The one known type when there is exactly one and nothing unknown.
  std::optional<MailType> type() const noexcept;
};

class TagScanner {
 public:
  static constexpr std::size_t kMaxTagContent = 8;

  struct Options {
    TagPosition position = TagPosition::anywhere;
    bool case_sensitive = false;
  };

  explicit TagScanner(Options options) : options_(options) {}
  TagScan scan(std::string_view decoded_subject) const;

 private:
  Options options_;
};

}  // namespace postern::incamail
