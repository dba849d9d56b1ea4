// NAME
//   milter_driver - plays the libmilter callback sequence into a Filter
// SUMMARY
//   MilterDriver d(filter);
//   auto r = d.run(envelope, message_bytes);   // one connection, one message
//   EXPECT_EQ(r.verdict.status, Status::proceed);
// DESCRIPTION
//   Behaves as Postfix and libmilter do, as far as a filter can tell:
//   - only the steps the filter's Capabilities ask for are called;
//   - macros are visible from the stage Postfix sends them at (its defaults,
//     or the filter's own list for a stage), and stay visible later, as
//     smfi_getsymval does;
//   - headers are given name and value, the value with its leading space
//     when asked, folded lines joined by LF; the body in CRLF chunks of at
//     most 64 KiB;
//   - a non-continue verdict at a no-reply step is given at the next step
//     that replies, as the real adapter does;
//   - a reject or tempfail at RCPT refuses that recipient only; at any other
//     message step it ends the message (the filter then gets an abort);
//   - exceptions become dispositions through the same guard as in production.
//   Lower-level calls (connect, helo, message, abort, close) let a test build
//   close-only connections, aborts mid-message and several messages on one
//   connection.
// THREADS
//   One test thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "postern/milter/filter.hpp"
#include "postern/milter/program.hpp"
#include "postern/testing/recording_actions.hpp"

namespace postern::testing {

struct Envelope {
  std::string hostname = "mail.example.org";
  std::optional<std::string> client_address = "192.0.2.7";  // nullopt: NULL hostaddr
  unsigned client_port = 40000;
  std::string helo = "mail.example.org";
  std::string sender = "<sender@example.org>";
  std::vector<std::string> recipients = {"<rcpt@example.com>"};
  // Macro values the MTA knows, e.g. {"{daemon_name}", "smtpd"}, {"i", "4Q2x"}.
  // Which of them the filter sees, and when, follows Postfix's rules.
  std::map<std::string, std::string> macros;
};

struct MessageResult {
  milter::Verdict verdict;               // the message's final answer
  std::string failed_step;               // where it ended if not at eom
  std::vector<std::string> accepted_recipients;
  std::vector<std::string> transcript;   // every step result and action
  bool body_replaced = false;
  std::string new_body;
};

class MilterDriver {
 public:
  explicit MilterDriver(std::shared_ptr<const milter::Filter> filter,
                        milter::OnError on_error = milter::OnError::tempfail);

  // A whole connection with one message: connect, helo, message, close.
  MessageResult run(const Envelope& envelope, std::string_view bytes);

  // Building blocks. open() negotiates and creates the session.
  void open(const Envelope& envelope);
  milter::Verdict connect();
  milter::Verdict helo();
  MessageResult message(std::string_view bytes);
  // Stops a message after `stop_after` steps (mail, rcpt…, data, headers…)
  // and sends abort, as Postfix does on RSET or a lost client.
  void aborted_message(std::string_view bytes, int stop_after);
  void close();
  const std::vector<std::string>& transcript() const;

 private:
  milter::Verdict call(const char* step, bool replies, const std::function<milter::Verdict()>& fn);
  void show_macros_for(milter::Stage stage);

  std::shared_ptr<const milter::Filter> filter_;
  milter::OnError on_error_;
  milter::Capabilities caps_;
  Envelope envelope_;
  std::unique_ptr<milter::Session> session_;
  std::unique_ptr<RecordingActions> actions_;
  std::map<std::string, std::string> visible_;
  std::optional<milter::Verdict> pending_;
  bool closed_ = true;
};

std::string describe(const milter::Verdict& verdict);  // "continue", "reject 550 5.7.1 text"

// Splits a message into header fields (name, value as libmilter passes it)
// and the body with CRLF line ends.
struct SplitMessage {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};
SplitMessage split_message(std::string_view message, bool leading_space);

}  // namespace postern::testing
