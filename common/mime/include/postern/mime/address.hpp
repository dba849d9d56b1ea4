// NAME
//   address - RFC 5322 address lists and RFC 5321 envelope paths
// SUMMARY
//   for (const Mailbox& to : parse_address_list(header.raw_value)) ...
//   std::optional<Mailbox> sender = parse_envelope_path("<\"john doe\"@example.com>");
//   sender->domain_ascii();   // "example.com"
//   sender->to_envelope();    // "<\"john doe\"@example.com>"
// DESCRIPTION
//   parse_address_list() reads a From/To/Cc/Reply-To value: display names
//   (RFC 2047 words decoded, also inside quotes as clients write them),
//   quoted strings, comments, groups (flattened into their members, so
//   "undisclosed-recipients:;" yields none), angle addresses, obsolete
//   source routes, and obsolete whitespace and empty list elements. Raw
//   UTF-8 is accepted (RFC 6532 / SMTPUTF8).
//
//   parse_envelope_path() reads a MAIL FROM / RCPT TO path as libmilter
//   hands it over, with or without angle brackets: no comments or
//   whitespace outside quotes; "<>" is the null path (nullopt).
//
//   A Mailbox keeps the local part unquoted and unescaped, and whether it was
//   quoted; addr_spec() and to_envelope() quote it again only where RFC 5321
//   needs it. The domain is kept as written (minus a trailing dot, which
//   trailing_dot reports); domain_ascii() gives the IDNA2008 A-label form
//   (libidn2, non-transitional), lowercase, so compare domains that way.
//   Local parts compare byte for byte: only the receiving domain knows
//   whether they are case-sensitive.
// THREADS
//   Values and pure functions.
// DIAGNOSTICS
//   AddressError for anything invalid, saying what and at which offset:
//   unbalanced quotes, parentheses or angle brackets, control characters, an
//   empty local part or one that is not UTF-8, a missing or bad domain (label syntax and length,
//   IDNA rules, address literal). A list with one invalid element is
//   rejected whole: half a recipient list is worse than none.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mime {

class AddressError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Mailbox {
  std::string display_name;        // decoded UTF-8, "" when none
  std::string local_part;          // quoting and escapes removed
  bool local_part_quoted = false;  // a quoted string was used in it
  std::string domain;              // as written, without trailing dot; "[...]" for an address literal
  bool trailing_dot = false;       // the domain was written "example.com."

  // A-labels, lowercase; an address literal as written. Throws AddressError.
  std::string domain_ascii() const;
  // U-labels (the A-labels decoded). Throws AddressError.
  std::string domain_unicode() const;
  // local@domain, with the local part quoted where needed and the domain as written.
  std::string addr_spec() const;
  // "<local@domain>" with the domain in A-labels, fit for MAIL FROM / RCPT TO.
  std::string to_envelope() const;
  // Same local part (bytes) and same domain (A-labels); names are ignored.
  bool same_address(const Mailbox& other) const;
};

std::vector<Mailbox> parse_address_list(std::string_view raw_value);

std::optional<Mailbox> parse_envelope_path(std::string_view path);

}  // namespace postern::mime
