// NAME
//   notices - the messages postern-policy writes itself
// SUMMARY
//   NoticeContext ctx{...};
//   std::string bytes = compose_notice(notice, to, ctx);
//   std::string ndn = compose_non_delivery(refused, ctx);
//   if (auto why = no_reply_reason(sender, auto_submitted, precedence)) skip(*why);
// DESCRIPTION
//   Every notice is a complete RFC 5322 message with CRLF line ends: Date,
//   Message-ID (<TOKEN@hostname>), From (the configured notification
//   sender), To, Subject (RFC 2047 encoded when not ASCII),
//   Auto-Submitted, MIME-Version and a text/plain UTF-8 body (8bit). It
//   names the rule, the original subject, sender and recipients and the
//   queue id, never the original body. Text the admin wrote may use the
//   placeholders ${sender}, ${recipients}, ${subject}, ${rule} and
//   ${queue_id}; other ${...} stay as written. Control characters from the
//   message (subject, addresses) are shown escaped.
//   - acknowledge (to the sender) and alert (to admins): Auto-Submitted:
//     auto-generated.
//   - non-delivery notice for recipients a rule rejected while others got
//     the message: an RFC 3464 multipart/report (report-type=
//     delivery-status) with a readable part and a message/delivery-status
//     part (Final-Recipient, Action: failed, Status: 5.7.1,
//     Diagnostic-Code), Auto-Submitted: auto-replied.
//   no_reply_reason() says why the sender must not get an automatic
//   answer (RFC 3834): the null sender, a mailer-daemon or our own notice
//   sender, Auto-Submitted other than "no", Precedence bulk, junk or list.
// THREADS
//   Pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "postern/policy/policy.hpp"

namespace postern::policy {

struct NoticeContext {
  std::string from;      // notification sender, local@domain
  std::string hostname;  // Message-ID domain, Reporting-MTA
  std::string token;     // unique part of the Message-ID
  std::chrono::system_clock::time_point now;
  std::string queue_id;
  std::string sender;                   // envelope sender, local@domain, "" for null
  std::vector<std::string> recipients;  // the original envelope recipients, local@domain
  std::string subject;                  // decoded original subject (UTF-8)
};

// to: local@domain addresses.
std::string compose_notice(const Notice& notice, const std::vector<std::string>& to, const NoticeContext& ctx);

struct Refused {
  std::string recipient;  // local@domain
  std::string text;       // the rule's reject text
  std::string rule;
};
std::string compose_non_delivery(const std::vector<Refused>& refused, const NoticeContext& ctx);

std::optional<std::string> no_reply_reason(std::string_view sender, const std::string& notice_sender,
                                           const std::optional<std::string>& auto_submitted,
                                           const std::optional<std::string>& precedence);

// "${sender}" etc. replaced (see above).
std::string expand_placeholders(std::string_view text, const NoticeContext& ctx, std::string_view rule);

// RFC 5322 date-time in UTC: "Tue, 24 Nov 2026 23:10:25 +0000".
std::string rfc5322_date(std::chrono::system_clock::time_point t);

}  // namespace postern::policy
