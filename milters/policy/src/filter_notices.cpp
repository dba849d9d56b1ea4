#include <ctime>

#include "postern/core/strings.hpp"
#include "postern/mime/encoded_word.hpp"
#include "postern/policy/notices.hpp"

namespace postern::policy {

namespace {

// Text from the message, safe to put in a notice body: valid UTF-8 kept,
// control characters escaped.
std::string shown(std::string_view text) {
  std::string escaped = core::escape_controls(text);
  return escaped.empty() ? std::string("(none)") : escaped;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += shown(i);
  }
  return out;
}

// A header field "Name: value\r\n" with the value encoded when it is not
// printable ASCII.
std::string field(std::string_view name, std::string_view value) {
  std::string out(name);
  out += ':';
  try {
    out += mime::encode_header_text(name, value);
  } catch (const std::invalid_argument&) {
    out += mime::encode_header_text(name, core::escape_controls(value));
  }
  out += "\r\n";
  return out;
}

std::string crlf(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') continue;
    if (text[i] == '\n') {
      out += "\r\n";
    } else {
      out += text[i];
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

std::string common_headers(const NoticeContext& ctx, const std::vector<std::string>& to, std::string_view subject,
                           std::string_view auto_submitted) {
  std::string h;
  h += "Date: " + rfc5322_date(ctx.now) + "\r\n";
  h += "Message-ID: <" + ctx.token + "@" + ctx.hostname + ">\r\n";
  h += "From: <" + ctx.from + ">\r\n";
  std::string to_value;
  for (const auto& t : to) {
    if (!to_value.empty()) to_value += ", ";
    to_value += "<" + t + ">";
  }
  h += "To: " + to_value + "\r\n";
  h += field("Subject", subject);
  h += "Auto-Submitted: ";
  h += auto_submitted;
  h += "\r\nMIME-Version: 1.0\r\n";
  return h;
}

constexpr std::string_view kTextType = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n";

std::string facts_block(const NoticeContext& ctx, std::string_view rule) {
  std::string b;
  if (!rule.empty()) b += "Rule:       " + std::string(rule) + "\n";
  b += "Subject:    " + shown(ctx.subject) + "\n";
  b += "Sender:     " + (ctx.sender.empty() ? std::string("<>") : shown(ctx.sender)) + "\n";
  b += "Recipients: " + join(ctx.recipients, ", ") + "\n";
  b += "Queue ID:   " + (ctx.queue_id.empty() ? std::string("(none)") : ctx.queue_id) + "\n";
  return b;
}

}  // namespace

std::string rfc5322_date(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string expand_placeholders(std::string_view text, const NoticeContext& ctx, std::string_view rule) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "${") == 0) {
      const auto end = text.find('}', i + 2);
      if (end != std::string_view::npos) {
        const std::string_view name = text.substr(i + 2, end - i - 2);
        std::optional<std::string> value;
        if (name == "sender") value = ctx.sender.empty() ? std::string("<>") : shown(ctx.sender);
        if (name == "recipients") value = join(ctx.recipients, ", ");
        if (name == "subject") value = shown(ctx.subject);
        if (name == "rule") value = std::string(rule);
        if (name == "queue_id") value = ctx.queue_id;
        if (value) {
          out += *value;
          i = end + 1;
          continue;
        }
      }
    }
    out += text[i++];
  }
  return out;
}

std::string compose_notice(const Notice& notice, const std::vector<std::string>& to, const NoticeContext& ctx) {
  const bool alert = notice.kind == Notice::Kind::alert;
  const std::string subject =
      alert ? "Policy alert: " + notice.rule + ": " + shown(ctx.subject) : "Your message: " + shown(ctx.subject);
  std::string body = expand_placeholders(notice.text, ctx, notice.rule);
  if (body.empty()) {
    body = alert ? "A message matched the policy rule " + notice.rule + "."
                 : "Your message was received and processed by the mail gateway.";
  }
  body += "\n\n" + facts_block(ctx, notice.rule);
  return common_headers(ctx, to, subject, "auto-generated") + std::string(kTextType) + "\r\n" + crlf(body);
}

std::string compose_non_delivery(const std::vector<Refused>& refused, const NoticeContext& ctx) {
  const std::string boundary = "=_postern_" + ctx.token;
  std::string m = common_headers(ctx, {ctx.sender}, "Undelivered Mail Returned to Sender", "auto-replied");
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary + "\"\r\n\r\n";
  m += "This is a MIME-encapsulated message.\r\n\r\n--" + boundary + "\r\n";
  m += "Content-Description: Notification\r\n";
  m += kTextType;
  m += "\r\n";
  std::string text =
      "Your message could not be delivered to some of its recipients: the mail policy refused it\n"
      "for them. The other recipients got it.\n\n";
  for (const Refused& r : refused) {
    text += "<" + shown(r.recipient) + ">: " + shown(r.text) + "\n";
  }
  text += "\n" + facts_block(ctx, "");
  m += crlf(text);
  m += "\r\n--" + boundary + "\r\n";
  m += "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n";
  m += "Reporting-MTA: dns; " + ctx.hostname + "\r\n";
  if (!ctx.queue_id.empty()) m += "X-Postfix-Queue-ID: " + ctx.queue_id + "\r\n";
  m += "Arrival-Date: " + rfc5322_date(ctx.now) + "\r\n";
  for (const Refused& r : refused) {
    m += "\r\nFinal-Recipient: rfc822; " + core::escape_controls(r.recipient) + "\r\n";
    m += "Action: failed\r\nStatus: 5.7.1\r\n";
    m += "Diagnostic-Code: smtp; 550 5.7.1 " + core::escape_controls(r.text) + "\r\n";
  }
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

std::optional<std::string> no_reply_reason(std::string_view sender, const std::string& notice_sender,
                                           const std::optional<std::string>& auto_submitted,
                                           const std::optional<std::string>& precedence) {
  if (sender.empty()) return "null sender";
  const std::string lower = core::ascii_lower(sender);
  if (core::istarts_with(lower, "mailer-daemon@") || lower == "mailer-daemon") return "mailer-daemon";
  if (core::iequals(lower, notice_sender)) return "our own notice sender";
  if (auto_submitted) {
    // The keyword, before any parameter or comment (RFC 3834 §5).
    const std::string_view value = core::trim(*auto_submitted);
    const auto end = value.find_first_of(" \t;(");
    if (!core::iequals(value.substr(0, end), "no")) return "auto-submitted";
  }
  if (precedence) {
    const std::string value = core::ascii_lower(core::trim(*precedence));
    if (value == "bulk" || value == "junk" || value == "list") return "precedence " + value;
  }
  return std::nullopt;
}

}  // namespace postern::policy
