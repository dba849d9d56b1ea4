// NAME
//   record - strict RFC 7208 record syntax, record selection, and the text
//   handed to libspf2
// SUMMARY
//   Selection s = select_record(txt_strings, Scope::mfrom);
//   if (s.kind == Selection::Kind::one) {
//     Record r = parse_record(s.text);          // throws RecordError
//     std::string for_libspf2 = render(r, client);
//   }
// DESCRIPTION
//   libspf2 evaluates records it should refuse (RFC 7208 §4.6: any syntax
//   error is a permerror before anything is evaluated) and refuses some it
//   should accept. So every record is parsed here first, against the ABNF of
//   RFC 7208 §4–§7 (mechanisms, dual CIDR lengths without leading zeros,
//   domain-spec with its toplabel rule, macro syntax, at most one redirect=
//   and one exp=, 7-bit ASCII), and libspf2 gets a canonical rendering:
//   - unknown modifiers and exp= are left out (they never change a result,
//     and explanations are never echoed);
//   - a /0 prefix, which libspf2 reads as "no prefix", is rewritten to an
//     equivalent it evaluates correctly for this client: ip4:x/0 matches
//     every IPv4 client (ip4:CLIENT), a/0 is exists:DOMAIN, and the forms
//     that need an AAAA or MX walk become exists: on a marker name under
//     the reserved .invalid TLD that the DNS layer (checker.cpp) answers.
//   Record selection follows RFC 7208 §4.5 for "v=spf1" and RFC 4406 §4.4
//   for SenderID: "spf2.0/<scopes>" records naming the scope win, then
//   "v=spf1"; more than one candidate is a permerror.
// THREADS
//   Pure functions.
// DIAGNOSTICS
//   RecordError says what is wrong, for the log and the Received-SPF
//   problem= comment.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "postern/core/net.hpp"

namespace postern::spf {

class RecordError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Scope { mfrom, pra };

struct Selection {
  enum class Kind { none, one, multiple } kind = Kind::none;
  std::string text;  // the chosen record with its version rewritten to "v=spf1"
};
Selection select_record(const std::vector<std::string>& txt, Scope scope);

enum class Mechanism { all, include, a, mx, ptr, ip4, ip6, exists };

struct Term {
  char qualifier = '+';       // + - ~ ?
  Mechanism mechanism = Mechanism::all;
  std::string argument;       // domain-spec, or the network for ip4/ip6
  int cidr4 = -1;             // -1: not given
  int cidr6 = -1;
};

struct Record {
  std::vector<Term> terms;
  std::optional<std::string> redirect;
  std::optional<std::string> exp;
};

Record parse_record(std::string_view text);

// Marker suffixes of the exists: rewrites, answered by the DNS layer.
inline constexpr std::string_view kAnyAaaaMarker = ".aaaa.postern-spf.invalid";
inline constexpr std::string_view kMxAMarker = ".mx-a.postern-spf.invalid";
inline constexpr std::string_view kMxAaaaMarker = ".mx-aaaa.postern-spf.invalid";

// The record as libspf2 must see it to evaluate it for `client`.
std::string render(const Record& record, const core::IpAddress& client);

// RFC 7208 §4.3: a domain fit for check_host(): dot-separated labels of 1..63
// octets, at most 253 octets, at least two labels, no address literal.
bool is_checkable_domain(std::string_view domain) noexcept;

// A macro-string as RFC 7208 §7.1 allows it; exp_text also allows c, r, t.
bool is_valid_macro_string(std::string_view text, bool exp_text) noexcept;

}  // namespace postern::spf
