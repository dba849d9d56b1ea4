#include "postern/incamail/recipient_rewriter.hpp"

#include "postern/core/strings.hpp"

#include <algorithm>

#include "postern/incamail/text.hpp"
#include "postern/mime/address.hpp"

namespace postern::incamail {

namespace {

// RFC 5321 §4.5.3.1.2: a domain is at most 255 octets; DNS (RFC 1035) keeps
// names to 253 characters in text form, which is what a relay can resolve.
constexpr std::size_t kMaxDomain = 253;

std::string_view without_brackets(std::string_view a) {
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') {
    a = a.substr(1, a.size() - 2);
  }
  return a;
}

bool ascii_only(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

Recipient refuse(Recipient r, Recipient::Kind kind, std::string xcode, const std::string& why) {
  r.kind = kind;
  r.refusal =
      milter::Reply{"550", std::move(xcode), "IncaMail: <" + printable(without_brackets(r.original)) + "> " + why};
  return r;
}

}  // namespace

Recipient RecipientRewriter::classify(std::string_view rcpt) const {
  using Kind = Recipient::Kind;
  Recipient r;
  r.original = std::string(rcpt);
  const std::string_view bare = without_brackets(rcpt);
  if (!bare.empty() && bare.front() == '@') {
    return refuse(std::move(r), Kind::unusable, "5.1.3", "is source-routed and cannot be sent via IncaMail");
  }
  std::optional<mime::Mailbox> box;
  std::string domain;
  try {
    box = mime::parse_envelope_path(rcpt);
    if (box && box->domain.front() != '[') domain = box->domain_ascii();
  } catch (const mime::AddressError&) {
    // Postfix accepts a bare local name and qualifies it with $myorigin:
    // an address of this system.
    if (bare.find('@') == std::string_view::npos && !bare.empty()) {
      r.kind = Kind::internal;
      return r;
    }
    return refuse(std::move(r), Kind::unusable, "5.1.3", "cannot be read as a mail address");
  }
  if (!box) {
    return refuse(std::move(r), Kind::unusable, "5.1.3", "is the null address");
  }
  if (domain.empty()) {
    return refuse(std::move(r), Kind::unusable, "5.1.3", "is an address literal and cannot be sent via IncaMail");
  }
  mime::Mailbox target = *box;
  target.domain = domain;
  target.trailing_dot = false;
  r.address = target.addr_spec();
  if (domain == kPlatformDomain) {
    return refuse(std::move(r), Kind::bare_incamail, "5.1.3",
                  "names no recipient domain; address IncaMail recipients as user@their-domain.incamail.ch");
  }
  if (domain.size() > kPlatformDomain.size() && domain.ends_with(kPlatformDomain) &&
      domain[domain.size() - kPlatformDomain.size() - 1] == '.') {
    r.kind = Kind::incamail;
    return r;
  }
  if (internal_domains_.matches(domain)) {
    r.kind = Kind::internal;
    return r;
  }
  if (!ascii_only(box->local_part)) {
    return refuse(std::move(r), Kind::unusable, "5.6.7",
                  "has a non-ASCII local part, which cannot be sent via IncaMail");
  }
  if (domain.size() + 1 + kPlatformDomain.size() > kMaxDomain) {
    return refuse(std::move(r), Kind::unusable, "5.1.3", "is too long to be sent via IncaMail");
  }
  target.domain = domain + "." + std::string(kPlatformDomain);
  r.kind = Kind::external;
  r.rewritten = target.to_envelope();
  return r;
}

namespace {

// RFC 3461 §4: xtext for the ORCPT parameter.
std::string xtext(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c >= '!' && c <= '~' && c != '+' && c != '=') {
      out += static_cast<char>(c);
    } else {
      out += '+';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string dsn_args(const std::vector<std::string>& rcpt_args, std::string_view original) {
  std::string out;
  bool orcpt = false;
  for (std::size_t i = 1; i < rcpt_args.size(); ++i) {
    const std::string& arg = rcpt_args[i];
    const bool is_orcpt = core::istarts_with(arg, "ORCPT=");
    if (is_orcpt || core::istarts_with(arg, "NOTIFY=")) {
      orcpt = orcpt || is_orcpt;
      if (!out.empty()) out += ' ';
      out += arg;
    }
  }
  if (!orcpt) {
    if (!out.empty()) out += ' ';
    out += "ORCPT=rfc822;" + xtext(original);
  }
  return out;
}

}  // namespace postern::incamail
