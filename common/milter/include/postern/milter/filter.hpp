// NAME
//   filter - what a Postern milter implements
// SUMMARY
//   class IncaMailFilter final : public milter::Filter { ... };
//   class IncaMailSession final : public milter::Session { ... };
// DESCRIPTION
//   A Filter is built from one validated configuration snapshot and is
//   immutable: a reload builds a new Filter beside the old one, and each SMTP
//   connection keeps the Filter it started with (open_session), so a reload
//   never changes a message half way.
//   A Session is the connection context. Its callbacks follow the libmilter
//   order: connect, helo*, then per message mail, rcpt+, data, header*, eoh,
//   body*, eom (or abort at any point), and close once at the end. Several
//   messages may use one session; abort resets to the state after helo.
//   Callbacks return a Verdict. Throwing is allowed and safe: the framework
//   turns any exception into the configured disposition (tempfail unless the
//   configuration says otherwise) and one log line with the queue id.
//   Filter code never sees SMFICTX, sfsistat or char*: everything goes through
//   Actions (actions.hpp).
// THREADS
//   A Filter is shared by all connection threads and must be thread-safe
//   (it is immutable). A Session is used by one thread at a time.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/milter/actions.hpp"

namespace postern::milter {

enum class Status {
  proceed,   // SMFIS_CONTINUE
  accept,    // SMFIS_ACCEPT: no more callbacks for this message
  reject,    // SMFIS_REJECT (5xx, or the reply given)
  tempfail,  // SMFIS_TEMPFAIL (4xx, or the reply given)
  discard,   // SMFIS_DISCARD: accept and drop silently
  skip,      // SMFIS_SKIP: no more body chunks
};

struct Reply {
  std::string code;      // "550", "451"
  std::string xcode;     // "5.7.1"; may be empty
  std::string text;      // one line, no CR/LF
};

struct Verdict {
  Status status = Status::proceed;
  std::optional<Reply> reply;

  static Verdict proceed() { return {}; }
  static Verdict accept() { return {Status::accept, std::nullopt}; }
  static Verdict discard() { return {Status::discard, std::nullopt}; }
  static Verdict skip() { return {Status::skip, std::nullopt}; }
  static Verdict reject(std::string code, std::string xcode, std::string text) {
    return {Status::reject, Reply{std::move(code), std::move(xcode), std::move(text)}};
  }
  static Verdict tempfail(std::string code, std::string xcode, std::string text) {
    return {Status::tempfail, Reply{std::move(code), std::move(xcode), std::move(text)}};
  }
};

// What the MTA told us at connect time. address is empty when libmilter gave
// no host address (a local or unknown client); family says which.
struct ConnectInfo {
  std::string hostname;  // as the MTA resolved it, "[1.2.3.4]" or "unknown" when not
  enum class Family { unknown, inet, inet6, local } family = Family::unknown;
  std::string address;   // "192.0.2.7", "2001:db8::1"; empty when unknown
  unsigned port = 0;
};

// Protocol stages at which macros can be requested.
enum class Stage { connect, helo, envfrom, envrcpt, data, eoh, eom };

// What a filter needs from the MTA. The framework negotiates exactly this:
// steps not listed are switched off (SMFIP_NO*), steps whose answer is always
// "continue" are marked no-reply (SMFIP_NR_*), and only the listed macros are
// requested per stage (smfi_setsymlist).
struct Capabilities {
  struct Step {
    bool wanted = false;
    bool may_reply = false;  // false: the MTA need not wait for an answer
  };
  Step connect, helo, envfrom, envrcpt, data, header, eoh, body;
  bool rejected_recipients = false;  // also see RCPTs the MTA rejected
  bool header_leading_space = true;  // byte-exact header values (SMFIP_HDR_LEADSPC)

  // Actions the filter may take at end of message (SMFIF_*).
  bool add_headers = false;
  bool change_headers = false;
  bool change_body = false;
  bool add_recipients = false;  // with ESMTP args
  bool delete_recipients = false;
  bool change_sender = false;
  bool quarantine = false;

  std::map<Stage, std::vector<std::string>> macros;
};

class Session {
 public:
  virtual ~Session() = default;

  virtual Verdict on_connect(const ConnectInfo&, Actions&) { return Verdict::proceed(); }
  virtual Verdict on_helo(std::string_view /*helo*/, Actions&) { return Verdict::proceed(); }
  // args[0] is the address as given (with angle brackets), then ESMTP args.
  virtual Verdict on_mail(const std::vector<std::string>& /*args*/, Actions&) { return Verdict::proceed(); }
  virtual Verdict on_rcpt(const std::vector<std::string>& /*args*/, Actions&) { return Verdict::proceed(); }
  virtual Verdict on_data(Actions&) { return Verdict::proceed(); }
  // value is exactly as received (leading space kept, folding CRLFs kept as
  // the MTA passes them: LF-separated lines).
  virtual Verdict on_header(std::string_view /*name*/, std::string_view /*value*/, Actions&) {
    return Verdict::proceed();
  }
  virtual Verdict on_eoh(Actions&) { return Verdict::proceed(); }
  virtual Verdict on_body(std::string_view /*chunk*/, Actions&) { return Verdict::proceed(); }
  // The only place where message modifications are allowed.
  virtual Verdict on_eom(Actions&) { return Verdict::proceed(); }
  // The current message is abandoned (not the connection). Reset message state.
  virtual void on_abort() {}
  // The connection ends. Called once, also after an abort.
  virtual void on_close() {}
};

class Filter {
 public:
  virtual ~Filter() = default;
  virtual Capabilities capabilities() const = 0;
  virtual std::unique_ptr<Session> open_session() const = 0;
};

}  // namespace postern::milter
