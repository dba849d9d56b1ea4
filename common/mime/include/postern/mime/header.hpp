// NAME
//   header - RFC 5322 header fields, kept byte for byte
// SUMMARY
//   auto block = HeaderBlock::parse(message);
//   if (const Header* subject = block.find("subject")) use(subject->value());
//   assert(block.serialize() == message.substr(0, block.consumed()));
// DESCRIPTION
//   A header block is the run of fields at the start of a message or MIME
//   part, up to and including the blank line that ends it. Each Header keeps
//   the bytes it was received with (folds, CRLF or LF, NUL and 8-bit bytes
//   included), so serialize() reproduces the input exactly: a transform that
//   leaves a header alone cannot alter it.
//
//   Parsing stops at the blank line, at the end of the input, or at the first
//   line that is neither a field nor a continuation (a line without a colon,
//   or a name with spaces or control characters); end() says which, and
//   consumed() how many bytes were taken. Such input is not an error here:
//   MIME treats what follows as body, and a caller that wants a strict
//   header block checks end().
// THREADS
//   Values; safe to copy between threads.
// DIAGNOSTICS
//   LimitError when a field count, line length or field size limit is
//   exceeded: the only exception parse() throws.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mime {

// Thrown when input exceeds a configured limit (header or MIME). The message
// says which limit and is safe to log: it never quotes message content.
class LimitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HeaderLimits {
  std::size_t max_fields = 1000;
  // One physical line, without its line break.
  std::size_t max_line_length = 16384;
  // One field with all its continuation lines; Postfix's header_size_limit.
  std::size_t max_field_size = 102400;
};

struct Header {
  std::string name;          // as written, e.g. "Content-Type"
  std::string raw_value;     // after the colon up to the field's last line break; folds kept
  std::string eol = "\r\n";  // the line break ending the field: "\r\n", "\n", or "" at end of input
  std::string before_colon;  // obsolete WSP between name and colon (RFC 5322 §4.5.3), usually ""

  // raw_value unfolded, leading and trailing whitespace removed. No RFC 2047
  // decoding: see encoded_word.hpp.
  std::string value() const;
  // The field as received: name, colon, raw value, line break.
  std::string serialize() const;
};

// Removes every line break (CRLF or LF) that is followed by SP or HT, as
// RFC 5322 §2.2.3 defines unfolding. Other bytes are kept.
std::string unfold(std::string_view raw);

class HeaderBlock {
 public:
  enum class End {
    blank_line,    // the normal case: the blank line was consumed
    end_of_input,  // no blank line: the whole input was fields
    not_a_field,   // stopped before a line that is not a field
  };

  static HeaderBlock parse(std::string_view input, const HeaderLimits& limits = {});

  const std::vector<Header>& fields() const noexcept { return fields_; }
  std::vector<Header>& fields() noexcept { return fields_; }

  // Names compare case-insensitively in ASCII. nullptr when absent.
  const Header* find(std::string_view name) const noexcept;
  std::vector<const Header*> find_all(std::string_view name) const;

  End end() const noexcept { return end_; }
  // Bytes of the input taken by parse(), including the blank line.
  std::size_t consumed() const noexcept { return consumed_; }
  // Every field, then the blank line as received.
  std::string serialize() const;

 private:
  std::vector<Header> fields_;
  std::string blank_line_;  // the terminating blank line ("\r\n" or "\n"), "" when none
  End end_ = End::end_of_input;
  std::size_t consumed_ = 0;
};

}  // namespace postern::mime
