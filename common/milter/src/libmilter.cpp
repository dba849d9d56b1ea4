// NAME
//   libmilter - the adapter between libmilter's C callbacks and Filter/Session
// DESCRIPTION
//   The only file in Postern that includes <libmilter/mfapi.h>. Every callback
//   is noexcept and runs the session inside guarded(). xxfi_negotiate pins the
//   current snapshot for the connection, creates the Session, and asks the MTA
//   for exactly the steps, actions and macros the filter declared. Steps
//   negotiated as no-reply must answer SMFIS_NOREPLY: a failure or a
//   non-continue verdict there is kept and given at the next step that may
//   reply (end of message at the latest), so nothing is lost.
//   xxfi_close takes ownership of the private data first and copes with a
//   connection that never got as far as negotiation.
// THREADS
//   libmilter calls callbacks from many threads; one connection's callbacks
//   never run concurrently.
#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "postern/core/error.hpp"
#include "postern/core/net.hpp"
#include "postern/log/log.hpp"
#include "postern/milter/guard.hpp"
#include "runtime.hpp"

namespace postern::milter::detail {
namespace {

Runtime* g_runtime = nullptr;

// One SMTP connection: the snapshot it started with and its Session.
struct Connection {
  std::shared_ptr<const Snapshot> snapshot;
  std::unique_ptr<Session> session;
  Capabilities caps;
  std::optional<Verdict> pending;  // from a no-reply step, given at the next reply
  bool in_message = false;
};

// libmilter wants char* for strings it only reads.
class CString {
 public:
  explicit CString(std::string_view s) : buf_(s.begin(), s.end()) { buf_.push_back('\0'); }
  char* get() { return buf_.data(); }

 private:
  std::vector<char> buf_;
};

std::string sanitize_reply_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  }
  return out;
}

class LibmilterActions final : public Actions {
 public:
  explicit LibmilterActions(SMFICTX* ctx) : ctx_(ctx) {}

  std::optional<std::string> macro(std::string_view name) const override {
    CString n(name);
    const char* v = smfi_getsymval(ctx_, n.get());
    if (v == nullptr) {
      return std::nullopt;
    }
    return std::string(v);
  }
  void add_header(std::string_view name, std::string_view value) override {
    CString n(name), v(value);
    check(smfi_addheader(ctx_, n.get(), v.get()), "add_header");
  }
  void insert_header(int index, std::string_view name, std::string_view value) override {
    CString n(name), v(value);
    check(smfi_insheader(ctx_, index, n.get(), v.get()), "insert_header");
  }
  void change_header(std::string_view name, int index, std::optional<std::string_view> value) override {
    CString n(name);
    if (value) {
      CString v(*value);
      check(smfi_chgheader(ctx_, n.get(), index, v.get()), "change_header");
    } else {
      check(smfi_chgheader(ctx_, n.get(), index, nullptr), "delete_header");
    }
  }
  void change_sender(std::string_view address, std::string_view esmtp_args) override {
    CString a(address), e(esmtp_args);
    check(smfi_chgfrom(ctx_, a.get(), esmtp_args.empty() ? nullptr : e.get()), "change_sender");
  }
  void add_recipient(std::string_view address, std::string_view esmtp_args) override {
    CString a(address), e(esmtp_args);
    if (esmtp_args.empty()) {
      check(smfi_addrcpt(ctx_, a.get()), "add_recipient");
    } else {
      check(smfi_addrcpt_par(ctx_, a.get(), e.get()), "add_recipient");
    }
  }
  void delete_recipient(std::string_view address) override {
    CString a(address);
    check(smfi_delrcpt(ctx_, a.get()), "delete_recipient");
  }
  void replace_body(std::string_view chunk) override {
    // smfi_replacebody does not write through the pointer.
    auto* data = reinterpret_cast<unsigned char*>(const_cast<char*>(chunk.data()));
    check(smfi_replacebody(ctx_, data, static_cast<int>(chunk.size())), "replace_body");
  }
  void quarantine(std::string_view reason) override {
    CString r(reason);
    check(smfi_quarantine(ctx_, r.get()), "quarantine");
  }
  void progress() override { check(smfi_progress(ctx_), "progress"); }

 private:
  static void check(int rc, const char* what) {
    if (rc != MI_SUCCESS) {
      throw core::MessageError(core::FailureKind::internal, std::string(what) + " failed");
    }
  }
  SMFICTX* ctx_;
};

Connection* connection(SMFICTX* ctx) { return static_cast<Connection*>(smfi_getpriv(ctx)); }

sfsistat to_sfsistat(SMFICTX* ctx, const Verdict& v) {
  if (v.reply && (v.status == Status::reject || v.status == Status::tempfail)) {
    CString code(v.reply->code), text(sanitize_reply_text(v.reply->text)), xcode(v.reply->xcode);
    smfi_setreply(ctx, code.get(), v.reply->xcode.empty() ? nullptr : xcode.get(), text.get());
  }
  switch (v.status) {
    case Status::proceed: return SMFIS_CONTINUE;
    case Status::accept: return SMFIS_ACCEPT;
    case Status::reject: return SMFIS_REJECT;
    case Status::tempfail: return SMFIS_TEMPFAIL;
    case Status::discard: return SMFIS_DISCARD;
    case Status::skip: return SMFIS_SKIP;
  }
  return SMFIS_TEMPFAIL;
}

// Runs one step of the session. `replies` says whether the MTA waits for an
// answer at this step (false: negotiated no-reply).
template <typename Fn>
sfsistat step(SMFICTX* ctx, const char* name, bool replies, Fn&& fn) noexcept {
  Connection* conn = connection(ctx);
  LibmilterActions actions(ctx);
  Verdict verdict;
  if (conn == nullptr || conn->session == nullptr) {
    // Negotiation failed to create a session; it was logged there.
    verdict = Verdict::tempfail("451", "4.3.0", "temporary failure in mail processing, try again later");
  } else if (conn->pending) {
    verdict = *conn->pending;
  } else {
    verdict = guarded(conn->snapshot->on_error, actions, name, [&] { return fn(*conn->session, actions); });
  }
  if (!replies) {
    if (conn != nullptr && verdict.status != Status::proceed && !conn->pending) {
      conn->pending = verdict;
    }
    return SMFIS_NOREPLY;
  }
  if (conn != nullptr) {
    conn->pending.reset();
  }
  return to_sfsistat(ctx, verdict);
}

bool replies(SMFICTX* ctx, Capabilities::Step Capabilities::*which) {
  Connection* conn = connection(ctx);
  return conn == nullptr || (conn->caps.*which).may_reply;
}

std::vector<std::string> to_args(char** argv) {
  std::vector<std::string> args;
  for (; argv != nullptr && *argv != nullptr; ++argv) {
    args.emplace_back(*argv);
  }
  return args;
}

ConnectInfo connect_info(const char* hostname, const sockaddr* addr) {
  ConnectInfo info;
  info.hostname = hostname != nullptr ? hostname : "";
  if (addr == nullptr) {
    return info;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  switch (addr->sa_family) {
    case AF_INET: {
      sockaddr_in sin;
      std::memcpy(&sin, addr, sizeof sin);
      info.family = ConnectInfo::Family::inet;
      info.address = inet_ntop(AF_INET, &sin.sin_addr, buf, sizeof buf) ? buf : "";
      info.port = ntohs(sin.sin_port);
      break;
    }
    case AF_INET6: {
      sockaddr_in6 sin6;
      std::memcpy(&sin6, addr, sizeof sin6);
      info.family = ConnectInfo::Family::inet6;
      info.address = inet_ntop(AF_INET6, &sin6.sin6_addr, buf, sizeof buf) ? buf : "";
      info.port = ntohs(sin6.sin6_port);
      break;
    }
    case AF_UNIX:
      info.family = ConnectInfo::Family::local;
      break;
    default:
      break;
  }
  return info;
}

const int kStageCodes[] = {SMFIM_CONNECT, SMFIM_HELO, SMFIM_ENVFROM, SMFIM_ENVRCPT,
                           SMFIM_DATA,    SMFIM_EOH,  SMFIM_EOM};

int stage_code(Stage s) { return kStageCodes[static_cast<int>(s)]; }

unsigned long action_flags(const Capabilities& c) {
  unsigned long f = 0;
  if (c.add_headers) f |= SMFIF_ADDHDRS;
  if (c.change_headers) f |= SMFIF_CHGHDRS;
  if (c.change_body) f |= SMFIF_CHGBODY;
  if (c.add_recipients) f |= SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR;
  if (c.delete_recipients) f |= SMFIF_DELRCPT;
  if (c.change_sender) f |= SMFIF_CHGFROM;
  if (c.quarantine) f |= SMFIF_QUARANTINE;
  if (!c.macros.empty()) f |= SMFIF_SETSYMLIST;
  return f;
}

unsigned long protocol_flags(const Capabilities& c) {
  unsigned long f = 0;
  auto step_flags = [&f](const Capabilities::Step& s, unsigned long no, unsigned long nr) {
    if (!s.wanted) {
      f |= no;
    } else if (!s.may_reply) {
      f |= nr;
    }
  };
  step_flags(c.connect, SMFIP_NOCONNECT, SMFIP_NR_CONN);
  step_flags(c.helo, SMFIP_NOHELO, SMFIP_NR_HELO);
  step_flags(c.envfrom, SMFIP_NOMAIL, SMFIP_NR_MAIL);
  step_flags(c.envrcpt, SMFIP_NORCPT, SMFIP_NR_RCPT);
  step_flags(c.data, SMFIP_NODATA, SMFIP_NR_DATA);
  step_flags(c.header, SMFIP_NOHDRS, SMFIP_NR_HDR);
  step_flags(c.eoh, SMFIP_NOEOH, SMFIP_NR_EOH);
  step_flags(c.body, SMFIP_NOBODY, SMFIP_NR_BODY);
  f |= SMFIP_NOUNKNOWN;
  if (c.rejected_recipients) f |= SMFIP_RCPT_REJ;
  if (c.header_leading_space && c.header.wanted) f |= SMFIP_HDR_LEADSPC;
  if (c.body.wanted) f |= SMFIP_SKIP;
  return f;
}

std::string join_macros(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ' ';
    out += n;
  }
  return out;
}

sfsistat on_negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long /*f2*/,
                      unsigned long /*f3*/, unsigned long* pf0, unsigned long* pf1, unsigned long* pf2,
                      unsigned long* pf3) noexcept {
  try {
    auto conn = std::make_unique<Connection>();
    conn->snapshot = g_runtime->current();
    conn->caps = conn->snapshot->filter->capabilities();
    // DATA always replies, whatever the filter declared. Postfix's smtpd
    // sends the DATA-stage macros and then hands the milter connection to
    // cleanup; with no reply to DATA, cleanup's first header write follows
    // an unanswered packet, so Nagle holds it until the milter's delayed ACK
    // (40 ms on Linux): every message stalled about 40 ms per session
    // (tests/bench: 21 instead of 400 msg/s in one session). A reply carries
    // the ACK; the round trip costs microseconds.
    conn->caps.data.wanted = true;
    conn->caps.data.may_reply = true;
    unsigned long want_actions = action_flags(conn->caps);
    unsigned long want_proto = protocol_flags(conn->caps);
    // The MTA offers; we take what we need. Missing actions mean an MTA too
    // old for this filter: refuse rather than run half-capable.
    if ((want_actions & f0) != want_actions) {
      log::error("", "negotiate", {{"reason", "mta lacks required milter actions"}});
      return SMFIS_REJECT;
    }
    *pf0 = want_actions;
    // Protocol bits the MTA does not understand are dropped: without a NR_ bit
    // the step simply replies, which is always safe.
    *pf1 = want_proto & f1;
    *pf2 = 0;
    *pf3 = 0;
    for (const auto& [stage, names] : conn->caps.macros) {
      CString list(join_macros(names));
      smfi_setsymlist(ctx, stage_code(stage), list.get());
    }
    // Record which no-reply bits were actually granted.
    auto granted = [&](Capabilities::Step& s, unsigned long nr) {
      if (s.wanted && !s.may_reply && (*pf1 & nr) == 0) s.may_reply = true;
    };
    granted(conn->caps.connect, SMFIP_NR_CONN);
    granted(conn->caps.helo, SMFIP_NR_HELO);
    granted(conn->caps.envfrom, SMFIP_NR_MAIL);
    granted(conn->caps.envrcpt, SMFIP_NR_RCPT);
    granted(conn->caps.data, SMFIP_NR_DATA);
    granted(conn->caps.header, SMFIP_NR_HDR);
    granted(conn->caps.eoh, SMFIP_NR_EOH);
    granted(conn->caps.body, SMFIP_NR_BODY);
    try {
      conn->session = conn->snapshot->filter->open_session();
    } catch (const std::exception& e) {
      log::error("", "failure", {{"step", "negotiate"}, {"reason", e.what()}, {"action", "tempfail"}});
    }
    smfi_setpriv(ctx, conn.release());
    return SMFIS_CONTINUE;
  } catch (...) {
    log::error("", "failure", {{"step", "negotiate"}, {"reason", "out of memory"}, {"action", "tempfail"}});
    return SMFIS_TEMPFAIL;
  }
}

sfsistat on_connect(SMFICTX* ctx, char* hostname, _SOCK_ADDR* addr) noexcept {
  return step(ctx, "connect", replies(ctx, &Capabilities::connect), [&](Session& s, Actions& a) {
    return s.on_connect(connect_info(hostname, addr), a);
  });
}

sfsistat on_helo(SMFICTX* ctx, char* helo) noexcept {
  return step(ctx, "helo", replies(ctx, &Capabilities::helo), [&](Session& s, Actions& a) {
    return s.on_helo(helo != nullptr ? helo : "", a);
  });
}

sfsistat on_envfrom(SMFICTX* ctx, char** argv) noexcept {
  if (Connection* conn = connection(ctx); conn != nullptr && conn->session != nullptr) {
    if (conn->in_message) {
      // A previous message ended without eom/abort reaching us: reset it.
      try {
        conn->session->on_abort();
      } catch (...) {
      }
    }
    conn->in_message = true;
  }
  return step(ctx, "mail", replies(ctx, &Capabilities::envfrom),
              [&](Session& s, Actions& a) { return s.on_mail(to_args(argv), a); });
}

sfsistat on_envrcpt(SMFICTX* ctx, char** argv) noexcept {
  return step(ctx, "rcpt", replies(ctx, &Capabilities::envrcpt),
              [&](Session& s, Actions& a) { return s.on_rcpt(to_args(argv), a); });
}

sfsistat on_data(SMFICTX* ctx) noexcept {
  return step(ctx, "data", replies(ctx, &Capabilities::data), [](Session& s, Actions& a) { return s.on_data(a); });
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) noexcept {
  return step(ctx, "header", replies(ctx, &Capabilities::header), [&](Session& s, Actions& a) {
    return s.on_header(name != nullptr ? name : "", value != nullptr ? value : "", a);
  });
}

sfsistat on_eoh(SMFICTX* ctx) noexcept {
  return step(ctx, "eoh", replies(ctx, &Capabilities::eoh), [](Session& s, Actions& a) { return s.on_eoh(a); });
}

sfsistat on_body(SMFICTX* ctx, unsigned char* data, size_t len) noexcept {
  return step(ctx, "body", replies(ctx, &Capabilities::body), [&](Session& s, Actions& a) {
    return s.on_body(std::string_view(reinterpret_cast<const char*>(data), len), a);
  });
}

sfsistat on_eom(SMFICTX* ctx) noexcept {
  sfsistat rc = step(ctx, "eom", true, [](Session& s, Actions& a) { return s.on_eom(a); });
  if (Connection* conn = connection(ctx)) {
    conn->in_message = false;
  }
  return rc;
}

sfsistat on_abort(SMFICTX* ctx) noexcept {
  Connection* conn = connection(ctx);
  if (conn != nullptr) {
    conn->pending.reset();
    conn->in_message = false;
    if (conn->session != nullptr) {
      try {
        conn->session->on_abort();
      } catch (const std::exception& e) {
        log::error("", "failure", {{"step", "abort"}, {"reason", e.what()}});
      } catch (...) {
      }
    }
  }
  return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx) noexcept {
  // Take ownership before anything else; a close-only connection has none.
  std::unique_ptr<Connection> conn(connection(ctx));
  smfi_setpriv(ctx, nullptr);
  if (conn != nullptr && conn->session != nullptr) {
    try {
      conn->session->on_close();
    } catch (const std::exception& e) {
      log::error("", "failure", {{"step", "close"}, {"reason", e.what()}});
    } catch (...) {
    }
  }
  return SMFIS_CONTINUE;
}
}  // namespace

void libmilter_setup(const std::string& name, Runtime& runtime, const std::string& socket,
                     int timeout_seconds, int backlog) {
  g_runtime = &runtime;
  static std::string s_name;  // libmilter keeps the pointer
  s_name = name;
  smfiDesc desc{};
  desc.xxfi_name = s_name.data();
  desc.xxfi_version = SMFI_VERSION;
  // The most any filter may ask for; xxfi_negotiate narrows it per connection.
  desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_ADDRCPT_PAR |
                    SMFIF_DELRCPT | SMFIF_CHGFROM | SMFIF_QUARANTINE | SMFIF_SETSYMLIST;
  desc.xxfi_connect = on_connect;
  desc.xxfi_helo = on_helo;
  desc.xxfi_envfrom = on_envfrom;
  desc.xxfi_envrcpt = on_envrcpt;
  desc.xxfi_header = on_header;
  desc.xxfi_eoh = on_eoh;
  desc.xxfi_body = on_body;
  desc.xxfi_eom = on_eom;
  desc.xxfi_abort = on_abort;
  desc.xxfi_close = on_close;
  desc.xxfi_data = on_data;
  desc.xxfi_negotiate = on_negotiate;
  if (smfi_register(desc) != MI_SUCCESS) {
    throw std::runtime_error("smfi_register failed");
  }
  static std::string s_socket;
  s_socket = socket;
  if (smfi_setconn(s_socket.data()) != MI_SUCCESS) {
    throw std::runtime_error("invalid milter socket '" + socket + "'");
  }
  smfi_settimeout(timeout_seconds);
  if (backlog > 0) {
    smfi_setbacklog(backlog);
  }
  if (smfi_opensocket(true) != MI_SUCCESS) {
    throw std::runtime_error("cannot open milter socket '" + socket + "' (in use, or no permission)");
  }
  // libmilter writes a modification (add header, delete recipient, ...)
  // and then its reply as separate small packets; with Nagle's algorithm
  // the reply waits for the MTA's delayed ACK (40 ms on Linux) per message.
  // libmilter does not show its sockets: set TCP_NODELAY on the listening
  // one, which accepted connections inherit.
  core::disable_nagle_on_tcp_listeners();
}

int libmilter_run() { return smfi_main(); }

void libmilter_stop() noexcept { smfi_stop(); }

}  // namespace postern::milter::detail
