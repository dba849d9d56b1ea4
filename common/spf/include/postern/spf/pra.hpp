// NAME
//   pra - the Purported Responsible Address of RFC 4407
// SUMMARY
//   Pra p = find_pra({{"From", " Alice <alice@example.org>"}, ...});
//   if (p.mailbox) check(Identity::pra, p.mailbox->addr_spec()) ...
// DESCRIPTION
//   RFC 4407 §2, in order: the first non-empty Resent-Sender (unless a
//   Received or Return-Path header stands between an earlier Resent-From and
//   it: then it belongs to an older resend), else the first non-empty
//   Resent-From, else the single non-empty Sender, else the single non-empty
//   From. Several Sender or several From headers, a header holding more than
//   one mailbox, one that does not parse, or a mailbox without a domain
//   make the message ill-formed: no PRA, and SenderID's result is permerror
//   (RFC 4406 §3). Addresses are parsed by postern::mime.
// THREADS
//   Pure function.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "postern/mime/address.hpp"

namespace postern::spf {

struct Pra {
  std::optional<mime::Mailbox> mailbox;
  std::string header;   // the header it came from ("Resent-Sender" ...), or ""
  std::string problem;  // why there is none
};

// headers: name and value as received, in message order.
Pra find_pra(const std::vector<std::pair<std::string, std::string>>& headers);

}  // namespace postern::spf
