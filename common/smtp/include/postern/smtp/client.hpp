// NAME
//   client - submit one message over SMTP to a loopback listener
// SUMMARY
//   smtp::Submission s{.sender = "alice@example.org", .recipients = {{"bob@example.net", ""}}};
//   smtp::Result r = smtp::submit({"127.0.0.1", 10030}, options, s, {headers, body});
//   if (r.outcome != smtp::Outcome::accepted) log(r.reply);
// DESCRIPTION
//   One connection per message: connect (with a timeout), read the
//   greeting, EHLO, XFORWARD (when given and offered: Postfix's way to tell
//   the receiving smtpd and its milters about the original client), MAIL FROM (with SIZE=n when the server offers SIZE
//   and BODY=8BITMIME when the message has 8-bit bytes and the server offers 8BITMIME, SMTPUTF8 when an address is not
//   ASCII), one RCPT TO per recipient (with its DSN arguments, NOTIFY and ORCPT, only when the server offers DSN),
//   DATA, the message, and QUIT. Every read and write waits at most its timeout. The message is given as consecutive
//   pieces (e.g. a header block and a body held elsewhere); line ends are normalised to CRLF (a bare LF or CR becomes
//   CRLF), lines starting with "." are dot-stuffed, and a final CRLF is added when missing. All or nothing: when any
//   recipient is refused the transaction is abandoned (RSET) and the result is that refusal, so a caller never has to
//   work out which recipients got the message. Addresses are given without angle brackets; "" is the null sender.
// DIAGNOSTICS
//   Never throws for network or server problems: they are in Result.
//   Outcome::temp_failure for 4xx replies, timeouts, refused or broken
//   connections, and an 8-bit message to a server without 8BITMIME;
//   Outcome::perm_failure for 5xx replies and a non-ASCII address to a
//   server without SMTPUTF8. Result::reply holds the
//   server's reply (lines joined by " / ") or a description of the local
//   problem, for logs. Addresses with CR, LF or "<>" characters are refused
//   as perm_failure before anything is sent.
// THREADS
//   submit() is reentrant; each call has its own connection.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postern::smtp {

struct Endpoint {
  std::string host = "127.0.0.1";  // address or name
  unsigned port = 25;
};

struct Options {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds command_timeout{60000};  // each command and its reply
  std::chrono::milliseconds data_timeout{180000};    // the whole message and the reply after "."
  std::string helo = "localhost";
};

struct Recipient {
  std::string address;
  std::string dsn_args;  // "NOTIFY=... ORCPT=..." or ""; sent only when the server offers DSN
};

struct Submission {
  std::string sender;  // "" is the null sender
  std::vector<Recipient> recipients;
  // XFORWARD attributes (NAME, ADDR, HELO, ...) describing the original
  // client; sent, xtext-encoded, only those the server offers.
  std::vector<std::pair<std::string, std::string>> xforward;
};

enum class Outcome { accepted, temp_failure, perm_failure };
const char* to_string(Outcome o) noexcept;  // "accepted", "temp-failure", "perm-failure"

struct Result {
  Outcome outcome = Outcome::temp_failure;
  std::string reply;  // the deciding reply (or local problem); the final reply when accepted
  std::string step;   // "connect", "greeting", "ehlo", "mail", "rcpt", "data", "message", "quit"
};

Result submit(const Endpoint& to, const Options& options, const Submission& submission,
              const std::vector<std::string_view>& message);

}  // namespace postern::smtp
