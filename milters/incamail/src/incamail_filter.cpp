#include "postern/incamail/incamail_filter.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "postern/core/strings.hpp"
#include "postern/incamail/text.hpp"
#include "postern/log/log.hpp"
#include "postern/mime/address.hpp"
#include "postern/mime/encoded_word.hpp"

namespace postern::incamail {

namespace {

using milter::Actions;
using milter::Verdict;

bool listed(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// "12.3 MB" or "900.5 KB", with MB = 2^20 bytes as the configuration's 30M
// means.
std::string human_size(std::uint64_t bytes) {
  const bool mb = bytes >= 1024 * 1024;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", static_cast<double>(bytes) / (mb ? 1024.0 * 1024.0 : 1024.0),
                mb ? "MB" : "KB");
  return buf;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

// A Subject value (as libmilter passes it, after the colon) with text put in
// front; the rest stays byte for byte.
std::string prefixed_subject(std::string_view prefix, const std::optional<std::string>& raw) {
  std::string value = " ";
  value += prefix;
  if (raw) {
    std::string_view rest = *raw;
    rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(" \t\r\n")));
    if (!rest.empty()) {
      value += ' ';
      value += rest;
    }
  }
  return value;
}

class IncaMailSession final : public milter::Session {
 public:
  explicit IncaMailSession(const IncaMailFilter& filter) : filter_(filter), settings_(filter.settings()) {}

  Verdict on_connect(const milter::ConnectInfo& info, Actions&) override {
    client_ = core::IpAddress::parse(info.address);
    return Verdict::proceed();
  }

  Verdict on_mail(const std::vector<std::string>& args, Actions& actions) override {
    message_ = Message{};
    message_.sender = args.empty() ? std::string() : args.front();
    message_.auth = actions.macro("{auth_authen}").value_or("");
    message_.daemon = actions.macro("{daemon_name}").value_or("");
    message_.cert_subject = actions.macro("{cert_subject}");
    message_.cert_issuer = actions.macro("{cert_issuer}");
    return Verdict::proceed();
  }

  Verdict on_rcpt(const std::vector<std::string>& args, Actions&) override {
    if (!args.empty()) message_.recipients.push_back(args);
    return Verdict::proceed();
  }

  Verdict on_header(std::string_view name, std::string_view value, Actions&) override;
  Verdict on_eoh(Actions& actions) override;

  Verdict on_body(std::string_view chunk, Actions&) override {
    if (!message_.plan.count_size) return Verdict::skip();
    message_.size += chunk.size();
    return Verdict::proceed();
  }

  Verdict on_eom(Actions& actions) override;
  void on_abort() override { message_ = Message{}; }

 private:
  // What end of headers decided; end of message carries it out and logs it.
  struct Plan {
    enum class Event { none, verified, rewritten, tagged, unverified, stripped, planned };
    Event event = Event::none;
    bool count_size = false;
    std::optional<MailType> type;                             // of mail that goes to IncaMail
    std::vector<std::pair<std::size_t, Recipient>> rewrite;   // index into recipients, and what it becomes
    std::vector<std::string> routed;                          // recipients that go to IncaMail, as they will go
    std::size_t internal = 0;                                 // recipients that stay
    std::optional<std::string> subject;                       // new Subject value
    std::optional<std::string> header;                        // X-Postern-IncaMail value to add
    std::string bad_tag;                                      // sent as confidential despite this
    std::string reason;                                       // why mail looks like IncaMail
    std::optional<MailType> plan_type;                        // what a policy plan asked for
    std::optional<std::string> resealed;                      // the plan without its IncaMail part
  };

  struct Message {
    std::string sender;
    std::string auth;
    std::string daemon;
    std::optional<std::string> cert_subject;
    std::optional<std::string> cert_issuer;
    std::vector<std::vector<std::string>> recipients;
    int subjects = 0;
    std::optional<std::string> first_subject;  // raw value
    TagScan tags;
    bool subject_mark = false;
    bool lookalike_from = false;
    int foreign_headers = 0;  // X-Postern-IncaMail that arrived with the message
    int plan_headers = 0;     // X-Postern-Plan
    std::string plan_value;   // the first one, as received
    std::optional<plan::StampedPlan> policy;  // the verified plan
    std::uint64_t size = 0;
    Plan plan;
  };

  bool internal() const {
    if (client_ && core::contains_any(settings_.internal_networks, *client_)) return true;
    if (settings_.authenticated_is_internal && !message_.auth.empty()) return true;
    return !message_.daemon.empty() && listed(settings_.internal_listeners, message_.daemon);
  }

  bool verified() const {
    return !settings_.cert_subjects.empty() && message_.cert_subject && message_.cert_issuer &&
           listed(settings_.cert_subjects, *message_.cert_subject) &&
           listed(settings_.cert_issuers, *message_.cert_issuer);
  }

  bool lookalike_sender() const {
    try {
      auto box = mime::parse_envelope_path(message_.sender);
      return box && settings_.lookalike_domains.matches(box->domain_ascii());
    } catch (const mime::AddressError&) {
      return settings_.lookalike_domains.mentioned_in(message_.sender);
    }
  }

  Verdict refuse(Actions& actions, milter::Reply reply) {
    log::info(actions.queue_id(), "refused",
              {{"from", message_.sender}, {"reply", reply.code + " " + reply.xcode + " " + reply.text}});
    return {milter::Status::reject, std::move(reply)};
  }

  std::optional<Verdict> plan_outbound(Actions& actions);
  std::optional<Verdict> read_policy_plan(Actions& actions);
  std::optional<Verdict> plan_from_policy(Actions& actions);
  void log_decision(const std::string& qid) const;
  std::optional<Verdict> plan_inbound(Actions& actions);

  const IncaMailFilter& filter_;
  const Settings& settings_;
  std::optional<core::IpAddress> client_;
  Message message_;
};

Verdict IncaMailSession::on_header(std::string_view name, std::string_view value, Actions&) {
  // The size counts the header as it will travel: "Name:value" CRLF, and
  // each fold as CRLF.
  const auto folds = static_cast<std::size_t>(std::count(value.begin(), value.end(), '\n'));
  message_.size += name.size() + 1 + value.size() + folds + 2;
  if (core::iequals(name, "Subject")) {
    ++message_.subjects;
    if (!message_.first_subject) message_.first_subject = std::string(value);
    const std::string decoded = mime::decode_header_text(value);
    message_.tags.merge(filter_.scanner().scan(decoded));
    const auto& marks = settings_.lookalike_subject_marks;
    message_.subject_mark = message_.subject_mark || std::any_of(marks.begin(), marks.end(), [&](const auto& mark) {
                              return core::icontains(decoded, mark);
                            });
  } else if (core::iequals(name, kHeaderName)) {
    ++message_.foreign_headers;
  } else if (core::iequals(name, plan::kPlanHeader)) {
    if (++message_.plan_headers == 1) message_.plan_value = std::string(value);
  } else if (core::iequals(name, "From") && !message_.lookalike_from) {
    try {
      const auto boxes = mime::parse_address_list(value);
      message_.lookalike_from = std::any_of(boxes.begin(), boxes.end(), [&](const mime::Mailbox& b) {
        return settings_.lookalike_domains.matches(b.domain_ascii());
      });
    } catch (const mime::AddressError&) {
      message_.lookalike_from = settings_.lookalike_domains.mentioned_in(mime::decode_header_text(value));
    }
  }
  return Verdict::proceed();
}

Verdict IncaMailSession::on_eoh(Actions& actions) {
  Plan& plan = message_.plan;
  if (auto refusal = read_policy_plan(actions)) return *refusal;
  if (message_.policy && message_.policy->plan.incamail != plan::IncaMailType::none) {
    if (auto refusal = plan_from_policy(actions)) return *refusal;
  } else if (verified()) {
    const auto type = message_.tags.type();
    plan.header = std::string(" verified") + (type ? std::string("; type=") + to_string(*type) : "");
    plan.type = type;
    plan.event = Plan::Event::verified;
  } else if (auto refusal = internal() ? plan_outbound(actions) : plan_inbound(actions)) {
    return *refusal;
  }
  if (plan.event == Plan::Event::none && message_.foreign_headers > 0) {
    plan.event = Plan::Event::stripped;
  }
  if (plan.event == Plan::Event::none) {
    // Nothing to change: let Postfix skip this milter for the rest of the
    // message, body included.
    return Verdict::accept();
  }
  return Verdict::proceed();
}

std::optional<Verdict> IncaMailSession::plan_outbound(Actions& actions) {
  Plan& plan = message_.plan;
  const TagScan& tags = message_.tags;
  std::vector<Recipient> recipients;
  recipients.reserve(message_.recipients.size());
  for (const auto& args : message_.recipients) {
    recipients.push_back(filter_.rewriter().classify(args.front()));
  }
  // A bare incamail.ch address would go to IncaMail without a recipient
  // domain, tagged or not.
  for (const auto& r : recipients) {
    if (r.kind == Recipient::Kind::bare_incamail) return refuse(actions, *r.refusal);
  }

  if (tags.tagged()) {
    if (!tags.unknown.empty() || tags.conflict()) {
      std::string why;
      std::string bad_tag;
      if (!tags.unknown.empty()) {
        bad_tag = tags.unknown.front();
        why = (bad_tag.back() == '>' ? "unknown tag " + bad_tag : "unclosed tag " + bad_tag) +
              "; use <im><c>, <im><p> or <im><r>";
      } else {
        bad_tag = tag_text(tags.types[0]) + "," + tag_text(tags.types[1]);
        why = "conflicting tags " + tag_text(tags.types[0]) + " and " + tag_text(tags.types[1]) + "; use only one";
      }
      if (settings_.on_bad_tag == Settings::OnBadTag::reject) {
        return refuse(actions, {"550", "5.7.1", "IncaMail: " + why});
      }
      plan.type = MailType::confidential;
      plan.bad_tag = bad_tag;
    } else {
      plan.type = tags.type();
    }
    for (std::size_t i = 0; i < recipients.size(); ++i) {
      const Recipient& r = recipients[i];
      switch (r.kind) {
        case Recipient::Kind::unusable:
        case Recipient::Kind::bare_incamail: return refuse(actions, *r.refusal);
        case Recipient::Kind::external:
          plan.routed.push_back(r.rewritten);
          plan.rewrite.emplace_back(i, r);
          break;
        case Recipient::Kind::incamail: plan.routed.push_back("<" + r.address + ">"); break;
        case Recipient::Kind::internal: ++plan.internal; break;
      }
    }
  } else {
    for (const auto& r : recipients) {
      if (r.kind == Recipient::Kind::incamail) plan.routed.push_back("<" + r.address + ">");
    }
    if (plan.routed.empty()) return std::nullopt;
    // IncaMail sends untagged mail as confidential.
    plan.type = MailType::confidential;
    if (settings_.untagged_incamail_recipient == Settings::Untagged::tag_confidential) {
      plan.subject = prefixed_subject(tag_text(MailType::confidential), message_.first_subject);
    }
  }
  if (!plan.routed.empty() && message_.subjects > 1) {
    return refuse(actions, {"550", "5.6.0",
                            "IncaMail: the message has " + std::to_string(message_.subjects) +
                                " Subject headers; mail sent via IncaMail must have one"});
  }
  plan.count_size = !plan.routed.empty();
  plan.event = tags.tagged() ? Plan::Event::rewritten : Plan::Event::tagged;
  return std::nullopt;
}

std::optional<Verdict> IncaMailSession::read_policy_plan(Actions& actions) {
  plan::Sealer* sealer = filter_.sealer();
  if (sealer == nullptr || message_.plan_headers == 0) return std::nullopt;
  const std::string qid = actions.queue_id();
  if (message_.plan_headers > 1) {
    log::warning(qid, "plan_refused", {{"from", message_.sender}, {"reason", "several"},
                                       {"count", message_.plan_headers}});
    return Verdict::tempfail("451", "4.7.0", "IncaMail: the message carries more than one policy plan");
  }
  plan::Verdict v = sealer->verify(message_.plan_value, plan::Sealer::Clock::now());
  if (!v.ok()) {
    log::warning(qid, "plan_refused", {{"from", message_.sender}, {"reason", plan::to_string(v.refusal)}});
    return Verdict::tempfail("451", "4.7.0", "IncaMail: the message's policy plan cannot be trusted");
  }
  message_.policy = std::move(v.plan);
  return std::nullopt;
}

// A verified plan asks for IncaMail: route its recipients like a tagged
// message, whoever the client is.
std::optional<Verdict> IncaMailSession::plan_from_policy(Actions& actions) {
  Plan& plan = message_.plan;
  const plan::StampedPlan& policy = *message_.policy;
  switch (policy.plan.incamail) {
    case plan::IncaMailType::confidential: plan.plan_type = MailType::confidential; break;
    case plan::IncaMailType::personal: plan.plan_type = MailType::personal; break;
    case plan::IncaMailType::registered: plan.plan_type = MailType::registered; break;
    case plan::IncaMailType::none: return std::nullopt;
  }
  const TagScan& tags = message_.tags;
  const bool valid_tag = tags.tagged() && tags.unknown.empty() && !tags.conflict();
  plan.type = valid_tag ? tags.type() : plan.plan_type;
  if (!valid_tag) {
    if (tags.tagged()) {
      // A broken or conflicting tag next to ours would leave IncaMail to
      // guess; the plan's type replaces nothing, so refuse as for a tag.
      return refuse(actions, {"550", "5.7.1",
                              "IncaMail: the subject carries an unknown or conflicting IncaMail tag; use only one "
                              "of <im><c>, <im><p> or <im><r>"});
    }
    plan.subject = prefixed_subject(tag_text(*plan.plan_type), message_.first_subject);
  }
  for (std::size_t i = 0; i < message_.recipients.size(); ++i) {
    const std::string& rcpt = message_.recipients[i].front();
    if (std::find(policy.plan.recipients.begin(), policy.plan.recipients.end(), rcpt) ==
        policy.plan.recipients.end()) {
      ++plan.internal;  // not the plan's: left as it is
      continue;
    }
    const Recipient r = filter_.rewriter().classify(rcpt);
    switch (r.kind) {
      case Recipient::Kind::unusable:
      case Recipient::Kind::bare_incamail: return refuse(actions, *r.refusal);
      case Recipient::Kind::external:
        plan.routed.push_back(r.rewritten);
        plan.rewrite.emplace_back(i, r);
        break;
      case Recipient::Kind::incamail: plan.routed.push_back("<" + r.address + ">"); break;
      case Recipient::Kind::internal: ++plan.internal; break;
    }
  }
  if (!plan.routed.empty() && message_.subjects > 1) {
    return refuse(actions, {"550", "5.6.0",
                            "IncaMail: the message has " + std::to_string(message_.subjects) +
                                " Subject headers; mail sent via IncaMail must have one"});
  }
  plan::Plan rest = policy.plan;
  rest.incamail = plan::IncaMailType::none;
  try {
    plan.resealed = filter_.sealer()->seal(rest, plan::Sealer::Clock::now());
  } catch (const std::exception& e) {
    log::error(actions.queue_id(), "plan_reseal_failed", {{"error", e.what()}});
    return Verdict::tempfail("451", "4.3.0", "IncaMail: cannot pass the policy plan on");
  }
  plan.count_size = !plan.routed.empty();
  plan.event = Plan::Event::planned;
  return std::nullopt;
}

std::optional<Verdict> IncaMailSession::plan_inbound(Actions& actions) {
  std::string reason;
  if (message_.lookalike_from) {
    reason = "from-domain";
  } else if (lookalike_sender()) {
    reason = "sender-domain";
  } else if (message_.subject_mark) {
    reason = "subject-mark";
  } else {
    return std::nullopt;
  }
  Plan& plan = message_.plan;
  if (settings_.on_unverified == Settings::OnUnverified::reject) {
    log::info(actions.queue_id(), "unverified", {{"from", message_.sender}, {"reason", reason}, {"action", "reject"}});
    return Verdict::reject("550", "5.7.1",
                           "IncaMail: this message looks like IncaMail mail but did not come over IncaMail's "
                           "verified connection");
  }
  plan.subject = prefixed_subject(settings_.unverified_tag, message_.first_subject);
  plan.event = Plan::Event::unverified;
  plan.reason = reason;
  return std::nullopt;
}

Verdict IncaMailSession::on_eom(Actions& actions) {
  Plan& plan = message_.plan;
  const std::string qid = actions.queue_id();
  if (plan.count_size) {
    const std::uint64_t size = message_.size + 2;  // the blank line after the header
    if (size > settings_.max_size) {
      return refuse(actions, {"552", "5.3.4",
                              "IncaMail: the message is " + human_size(size) + "; IncaMail accepts at most " +
                                  human_size(settings_.max_size)});
    }
    if (plan.type == MailType::registered && size > settings_.registered_max_size) {
      if (settings_.on_registered_too_large == Settings::OnRegisteredTooLarge::reject) {
        return refuse(actions, {"552", "5.3.4",
                                "IncaMail: registered mail should be at most " +
                                    human_size(settings_.registered_max_size) + "; this message is " +
                                    human_size(size)});
      }
      log::warning(qid, "oversize",
                   {{"type", "registered"},
                    {"size", static_cast<std::int64_t>(size)},
                    {"limit", static_cast<std::int64_t>(settings_.registered_max_size)},
                    {"action", "sent"}});
    }
  }

  // Outside copies of our header go first, from the last one up, so each
  // index still names the header it meant.
  for (int i = message_.foreign_headers; i >= 1; --i) {
    actions.change_header(kHeaderName, i, std::nullopt);
  }
  if (plan.header) actions.add_header(kHeaderName, *plan.header);
  if (plan.resealed) actions.change_header(plan::kPlanHeader, 1, *plan.resealed);
  if (plan.subject) {
    if (message_.first_subject) {
      actions.change_header("Subject", 1, *plan.subject);
    } else {
      actions.add_header("Subject", *plan.subject);
    }
  }
  for (const auto& [index, r] : plan.rewrite) {
    const auto& args = message_.recipients[index];
    actions.delete_recipient(args.front());
    actions.add_recipient(r.rewritten, dsn_args(args, r.address));
  }
  log_decision(qid);
  return Verdict::proceed();
}

void IncaMailSession::log_decision(const std::string& qid) const {
  const Plan& plan = message_.plan;
  const std::string& from = message_.sender;
  const int stripped = message_.foreign_headers;
  const char* type = plan.type ? to_string(*plan.type) : "unknown";
  switch (plan.event) {
    case Plan::Event::verified:
      log::info(qid, "verified",
                {{"from", from},
                 {"cert_subject", message_.cert_subject.value_or("")},
                 {"cert_issuer", message_.cert_issuer.value_or("")},
                 {"type", type},
                 {"stripped", stripped}});
      break;
    case Plan::Event::rewritten: {
      std::vector<std::string> rewritten;
      for (const auto& [index, r] : plan.rewrite) rewritten.push_back(r.rewritten);
      log::info(qid, "rewritten",
                {{"from", from},
                 {"type", type},
                 {"rewritten", rewritten.empty() ? std::string("none") : join(rewritten)},
                 {"routed", plan.routed.size()},
                 {"internal", plan.internal},
                 {"bad_tag", plan.bad_tag.empty() ? std::string("none") : plan.bad_tag},
                 {"stripped", stripped}});
      break;
    }
    case Plan::Event::tagged:
      log::info(qid, "tagged",
                {{"from", from},
                 {"type", type},
                 {"subject", plan.subject ? "tag-added" : "unchanged"},
                 {"routed", join(plan.routed)},
                 {"stripped", stripped}});
      break;
    case Plan::Event::unverified:
      log::info(qid, "unverified",
                {{"from", from}, {"reason", plan.reason}, {"action", "tag"}, {"stripped", stripped}});
      break;
    case Plan::Event::planned: {
      std::vector<std::string> rewritten;
      for (const auto& [index, r] : plan.rewrite) rewritten.push_back(r.rewritten);
      log::info(qid, "planned",
                {{"from", from},
                 {"type", type},
                 {"plan_type", plan.plan_type ? to_string(*plan.plan_type) : "none"},
                 {"rewritten", rewritten.empty() ? std::string("none") : join(rewritten)},
                 {"routed", plan.routed.size()},
                 {"other", plan.internal},
                 {"subject", plan.subject ? "tag-added" : "unchanged"},
                 {"stripped", stripped}});
      break;
    }
    case Plan::Event::stripped:
      log::info(qid, "stripped", {{"from", from}, {"header", kHeaderName}, {"stripped", stripped}});
      break;
    case Plan::Event::none: break;
  }
}

}  // namespace

IncaMailFilter::IncaMailFilter(Settings settings)
    : settings_(std::move(settings)), scanner_(settings_.tags), rewriter_(settings_.internal_domains) {
  if (!settings_.plan_secret_file.empty()) {
    plan::Sealer::Options options;
    options.max_age = settings_.plan_max_age;
    sealer_ = std::make_unique<plan::Sealer>(plan::Secret::load(settings_.plan_secret_file), options);
  }
}

milter::Capabilities IncaMailFilter::capabilities() const {
  milter::Capabilities c;
  // Steps that only collect facts never answer; end of headers decides (and
  // ACCEPTs what needs nothing); the body is counted only for mail that goes
  // to IncaMail and skipped otherwise.
  c.connect = {.wanted = true, .may_reply = false};
  c.envfrom = {.wanted = true, .may_reply = false};
  c.envrcpt = {.wanted = true, .may_reply = false};
  c.header = {.wanted = true, .may_reply = false};
  c.eoh = {.wanted = true, .may_reply = true};
  c.body = {.wanted = true, .may_reply = true};
  c.add_headers = true;
  c.change_headers = true;
  c.add_recipients = true;
  c.delete_recipients = true;
  // Everything is asked for at MAIL, so no Postfix milter_*_macros setting is
  // needed: the TLS macros are evaluated when sent, and {cert_*} are sent
  // only for a client certificate Postfix verified.
  c.macros[milter::Stage::envfrom] = {"{auth_authen}", "{daemon_name}", "{cert_subject}", "{cert_issuer}"};
  return c;
}

std::unique_ptr<milter::Session> IncaMailFilter::open_session() const {
  return std::make_unique<IncaMailSession>(*this);
}

std::shared_ptr<const milter::Filter> build_filter(std::shared_ptr<const config::Config> config) {
  return std::make_shared<const IncaMailFilter>(Settings::from(*config));
}

}  // namespace postern::incamail
