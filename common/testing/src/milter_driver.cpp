#include "postern/testing/milter_driver.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "postern/milter/guard.hpp"

namespace postern::testing {

using milter::Stage;
using milter::Status;
using milter::Verdict;

namespace {

// Postfix 3.7's default macro lists per stage (milter_*_macros).
const std::map<Stage, std::vector<std::string>>& postfix_default_macros() {
  static const std::map<Stage, std::vector<std::string>> defaults = {
      {Stage::connect, {"j", "{daemon_name}", "{daemon_addr}", "v", "_"}},
      {Stage::helo, {"{tls_version}", "{cipher}", "{cipher_bits}", "{cert_subject}", "{cert_issuer}"}},
      {Stage::envfrom, {"i", "{auth_type}", "{auth_authen}", "{auth_author}", "{mail_addr}", "{mail_host}",
                        "{mail_mailer}"}},
      {Stage::envrcpt, {"i", "{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"}},
      {Stage::data, {"i"}},
      {Stage::eoh, {"i"}},
      {Stage::eom, {"i"}},
  };
  return defaults;
}

std::string strip_brackets(std::string_view a) {
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') {
    a = a.substr(1, a.size() - 2);
  }
  return std::string(a);
}

}  // namespace

std::string describe(const Verdict& v) {
  std::string s;
  switch (v.status) {
    case Status::proceed: s = "continue"; break;
    case Status::accept: s = "accept"; break;
    case Status::reject: s = "reject"; break;
    case Status::tempfail: s = "tempfail"; break;
    case Status::discard: s = "discard"; break;
    case Status::skip: s = "skip"; break;
  }
  if (v.reply) {
    s += " " + v.reply->code;
    if (!v.reply->xcode.empty()) s += " " + v.reply->xcode;
    s += " " + v.reply->text;
  }
  return s;
}

SplitMessage split_message(std::string_view message, bool leading_space) {
  SplitMessage out;
  std::size_t pos = 0;
  auto next_line = [&](std::string_view& line) {
    if (pos >= message.size()) return false;
    auto nl = message.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? message.size() : nl;
    line = message.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl == std::string_view::npos ? message.size() : nl + 1;
    return true;
  };
  std::string_view line;
  std::size_t body_start = message.size();
  while (true) {
    std::size_t line_start = pos;
    if (!next_line(line)) break;
    if (line.empty()) {
      body_start = pos;
      break;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !out.headers.empty()) {
      out.headers.back().second += "\n";
      out.headers.back().second += line;
      continue;
    }
    auto colon = line.find(':');
    bool is_header = colon != std::string_view::npos && colon > 0 &&
                     std::none_of(line.begin(), line.begin() + static_cast<long>(colon),
                                  [](char c) { return c == ' ' || c == '\t'; });
    if (!is_header) {
      // Postfix treats the first non-header line as the start of the body.
      body_start = line_start;
      break;
    }
    std::string value(line.substr(colon + 1));
    if (!leading_space) {
      value.erase(0, value.find_first_not_of(" \t"));
    }
    out.headers.emplace_back(std::string(line.substr(0, colon)), std::move(value));
  }
  // The milter protocol carries the body with CRLF line ends.
  std::string_view body = message.substr(std::min(body_start, message.size()));
  out.body.reserve(body.size() + body.size() / 32);
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) {
      out.body += '\r';
    }
    out.body += body[i];
  }
  return out;
}

MilterDriver::MilterDriver(std::shared_ptr<const milter::Filter> filter, milter::OnError on_error)
    : filter_(std::move(filter)), on_error_(on_error), caps_(filter_->capabilities()) {}

const std::vector<std::string>& MilterDriver::transcript() const { return actions_->transcript(); }

void MilterDriver::show_macros_for(Stage stage) {
  auto own = caps_.macros.find(stage);
  const auto& names = own != caps_.macros.end() ? own->second : postfix_default_macros().at(stage);
  for (const auto& name : names) {
    auto it = envelope_.macros.find(name);
    if (it != envelope_.macros.end()) {
      visible_[name] = it->second;
    }
  }
  actions_->set_macros(visible_);
}

Verdict MilterDriver::call(const char* step, bool replies, const std::function<Verdict()>& fn) {
  Verdict v;
  if (pending_) {
    v = *pending_;
  } else {
    v = milter::guarded(on_error_, *actions_, step, fn);
  }
  if (!replies) {
    if (v.status != Status::proceed && !pending_) {
      pending_ = v;
    }
    return Verdict::proceed();
  }
  pending_.reset();
  if (v.status != Status::proceed) {
    actions_->note(std::string(step) + ": " + describe(v));
  }
  return v;
}

void MilterDriver::open(const Envelope& envelope) {
  envelope_ = envelope;
  visible_.clear();
  pending_.reset();
  actions_ = std::make_unique<RecordingActions>(caps_);
  session_ = filter_->open_session();
  closed_ = false;
}

Verdict MilterDriver::connect() {
  show_macros_for(Stage::connect);
  if (!caps_.connect.wanted) return Verdict::proceed();
  milter::ConnectInfo info;
  info.hostname = envelope_.hostname;
  if (envelope_.client_address) {
    info.address = *envelope_.client_address;
    info.family = info.address.find(':') != std::string::npos ? milter::ConnectInfo::Family::inet6
                                                               : milter::ConnectInfo::Family::inet;
    info.port = envelope_.client_port;
  }
  return call("connect", caps_.connect.may_reply, [&] { return session_->on_connect(info, *actions_); });
}

Verdict MilterDriver::helo() {
  show_macros_for(Stage::helo);
  if (!caps_.helo.wanted) return Verdict::proceed();
  return call("helo", caps_.helo.may_reply, [&] { return session_->on_helo(envelope_.helo, *actions_); });
}

MessageResult MilterDriver::message(std::string_view bytes) {
  MessageResult result;
  actions_->clear_message();
  std::size_t transcript_start = actions_->transcript().size();
  auto finish = [&](const char* step, Verdict v) {
    result.verdict = std::move(v);
    result.failed_step = step;
    if (std::string_view(step) != "eom") {
      // The MTA ends the transaction and tells the filter.
      session_->on_abort();
      pending_.reset();
    }
    result.body_replaced = actions_->body_replaced();
    result.new_body = actions_->new_body();
    result.transcript.assign(actions_->transcript().begin() + static_cast<long>(transcript_start),
                             actions_->transcript().end());
    result.transcript.push_back("result: " + describe(result.verdict));
    return result;
  };

  envelope_.macros.emplace("{mail_addr}", strip_brackets(envelope_.sender));
  show_macros_for(Stage::envfrom);
  if (caps_.envfrom.wanted) {
    Verdict v = call("mail", caps_.envfrom.may_reply, [&] { return session_->on_mail({envelope_.sender}, *actions_); });
    if (v.status != Status::proceed) return finish("mail", v);
  }
  for (const auto& rcpt : envelope_.recipients) {
    envelope_.macros["{rcpt_addr}"] = strip_brackets(rcpt);
    show_macros_for(Stage::envrcpt);
    if (caps_.envrcpt.wanted) {
      Verdict v = call("rcpt", caps_.envrcpt.may_reply, [&] { return session_->on_rcpt({rcpt}, *actions_); });
      if (v.status == Status::reject || v.status == Status::tempfail) {
        continue;  // this recipient only
      }
      if (v.status != Status::proceed) return finish("rcpt", v);
    }
    result.accepted_recipients.push_back(rcpt);
  }
  if (result.accepted_recipients.empty()) {
    return finish("rcpt", Verdict::reject("554", "5.5.1", "no valid recipients"));
  }
  // Postfix assigns the queue id once a recipient is accepted.
  show_macros_for(Stage::data);
  if (caps_.data.wanted) {
    Verdict v = call("data", caps_.data.may_reply, [&] { return session_->on_data(*actions_); });
    if (v.status != Status::proceed) return finish("data", v);
  }
  SplitMessage split = split_message(bytes, caps_.header_leading_space);
  if (caps_.header.wanted) {
    for (const auto& [name, value] : split.headers) {
      Verdict v = call("header", caps_.header.may_reply, [&] { return session_->on_header(name, value, *actions_); });
      if (v.status != Status::proceed) return finish("header", v);
    }
  }
  show_macros_for(Stage::eoh);
  if (caps_.eoh.wanted) {
    Verdict v = call("eoh", caps_.eoh.may_reply, [&] { return session_->on_eoh(*actions_); });
    if (v.status != Status::proceed) return finish("eoh", v);
  }
  if (caps_.body.wanted) {
    constexpr std::size_t kChunk = 65535;
    for (std::size_t off = 0; off < split.body.size(); off += kChunk) {
      std::string_view chunk = std::string_view(split.body).substr(off, kChunk);
      Verdict v = call("body", caps_.body.may_reply, [&] { return session_->on_body(chunk, *actions_); });
      if (v.status == Status::skip) break;
      if (v.status != Status::proceed) return finish("body", v);
    }
  }
  show_macros_for(Stage::eom);
  actions_->set_in_eom(true);
  Verdict v = call("eom", true, [&] { return session_->on_eom(*actions_); });
  actions_->set_in_eom(false);
  return finish("eom", v);
}

void MilterDriver::aborted_message(std::string_view bytes, int stop_after) {
  int steps = 0;
  auto more = [&] { return steps++ < stop_after; };
  envelope_.macros.emplace("{mail_addr}", strip_brackets(envelope_.sender));
  show_macros_for(Stage::envfrom);
  if (more() && caps_.envfrom.wanted) {
    call("mail", caps_.envfrom.may_reply, [&] { return session_->on_mail({envelope_.sender}, *actions_); });
  }
  for (const auto& rcpt : envelope_.recipients) {
    if (!more()) break;
    envelope_.macros["{rcpt_addr}"] = strip_brackets(rcpt);
    show_macros_for(Stage::envrcpt);
    if (caps_.envrcpt.wanted) {
      call("rcpt", caps_.envrcpt.may_reply, [&] { return session_->on_rcpt({rcpt}, *actions_); });
    }
  }
  if (steps < stop_after) {
    show_macros_for(Stage::data);
    SplitMessage split = split_message(bytes, caps_.header_leading_space);
    for (const auto& [name, value] : split.headers) {
      if (!more()) break;
      if (caps_.header.wanted) {
        call("header", caps_.header.may_reply, [&] { return session_->on_header(name, value, *actions_); });
      }
    }
  }
  actions_->note("abort");
  session_->on_abort();
  pending_.reset();
}

void MilterDriver::close() {
  if (!closed_) {
    session_->on_close();
    closed_ = true;
  }
}

MessageResult MilterDriver::run(const Envelope& envelope, std::string_view bytes) {
  open(envelope);
  auto finish_early = [&](const char* step, const Verdict& v) {
    MessageResult r;
    r.verdict = v;
    r.failed_step = step;
    r.transcript = actions_->transcript();
    r.transcript.push_back("result: " + describe(v));
    close();
    return r;
  };
  if (Verdict v = connect(); v.status != Status::proceed) return finish_early("connect", v);
  if (Verdict v = helo(); v.status != Status::proceed) return finish_early("helo", v);
  MessageResult r = message(bytes);
  close();
  return r;
}

}  // namespace postern::testing
