#include "postern/policy/filter.hpp"

#include <sys/random.h>

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>

#include "filter_headers.hpp"
#include "postern/core/strings.hpp"
#include "postern/keystore/key_store.hpp"
#include "postern/ldap/directory.hpp"
#include "postern/log/log.hpp"
#include "postern/mime/address.hpp"
#include "postern/mime/body_spool.hpp"
#include "postern/mime/encoded_word.hpp"
#include "postern/policy/notices.hpp"
#include "postern/policy/subject_command.hpp"

namespace postern::policy {

namespace {

using detail::Field;
using milter::Actions;
using milter::Verdict;

// local@domain of an envelope path ("<a@b>" or "a@b"); "" for the null sender.
std::string bare(std::string_view path) {
  std::string_view s = core::trim(path);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = s.substr(1, s.size() - 2);
  return std::string(s);
}

std::string bracketed(std::string_view address) {
  const std::string b = bare(address);
  return "<" + b + ">";
}

std::string join(const std::vector<std::string>& items, std::string_view sep = ",") {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += sep;
    out += i;
  }
  return out;
}

// The DSN parameters of a RCPT command that travel with a copy.
std::string dsn_args(const std::vector<std::string>& rcpt_args) {
  std::string out;
  for (std::size_t i = 1; i < rcpt_args.size(); ++i) {
    if (core::istarts_with(rcpt_args[i], "NOTIFY=") || core::istarts_with(rcpt_args[i], "ORCPT=")) {
      if (!out.empty()) out += ' ';
      out += rcpt_args[i];
    }
  }
  return out;
}

// Where a message goes after the decision: one per address, in order.
struct Target {
  std::string address;   // as in the envelope: "<a@b>"
  std::string original;  // the envelope recipient it comes from, as given
  bool is_original = false;
  std::string dsn;
  plan::Plan transforms;  // recipients empty
  bool bcc = false;
  bool held = false;
};

struct Group {
  std::vector<const Target*> targets;
  plan::Plan transforms;
  bool held = false;
};

class PolicySession final : public milter::Session {
 public:
  explicit PolicySession(const PolicyFilter& filter) : filter_(filter), settings_(filter.settings()) {}

  Verdict on_connect(const milter::ConnectInfo& info, Actions&) override {
    client_ = core::IpAddress::parse(info.address);
    client_name_ = info.hostname;
    client_address_ = info.address;
    return Verdict::proceed();
  }

  Verdict on_helo(std::string_view helo, Actions&) override {
    helo_ = std::string(helo);
    return Verdict::proceed();
  }

  Verdict on_mail(const std::vector<std::string>& args, Actions& actions) override {
    message_ = Message{};
    message_.sender = args.empty() ? std::string() : args.front();
    message_.auth = actions.macro("{auth_authen}").value_or("");
    message_.listener = actions.macro("{daemon_name}").value_or("");
    message_.tls_version = actions.macro("{tls_version}").value_or("");
    try {
      message_.cipher_bits = std::stoi(actions.macro("{cipher_bits}").value_or("0"));
    } catch (const std::exception&) {
      message_.cipher_bits = 0;
    }
    return Verdict::proceed();
  }

  Verdict on_rcpt(const std::vector<std::string>& args, Actions&) override {
    if (!args.empty()) message_.recipients.push_back(args);
    return Verdict::proceed();
  }

  Verdict on_header(std::string_view name, std::string_view value, Actions&) override {
    message_.fields.push_back({std::string(name), std::string(value)});
    if (core::iequals(name, "Auto-Submitted") && !message_.auto_submitted) {
      message_.auto_submitted = mime::decode_header_text(value);
    } else if (core::iequals(name, "Precedence") && !message_.precedence) {
      message_.precedence = mime::decode_header_text(value);
    }
    return Verdict::proceed();
  }

  Verdict on_eoh(Actions&) override {
    spool();
    return Verdict::proceed();
  }

  Verdict on_body(std::string_view chunk, Actions&) override {
    spool().append(chunk);
    return Verdict::proceed();
  }

  Verdict on_eom(Actions& actions) override;
  void on_abort() override { message_ = Message{}; }

 private:
  struct Message {
    std::string sender;
    std::string auth, listener, tls_version;
    int cipher_bits = 0;
    std::vector<std::vector<std::string>> recipients;
    std::vector<Field> fields;
    std::optional<std::string> auto_submitted, precedence;
    std::unique_ptr<mime::BodySpool> spool;
    std::size_t body_offset = 0;
    std::optional<std::string> new_subject;  // a subject command removed
  };

  // The message so far: the header block first (so that the spool is the
  // whole message), then the body chunks.
  mime::BodySpool& spool() {
    if (!message_.spool) {
      message_.spool = std::make_unique<mime::BodySpool>(settings_.spool);
      const std::string block = detail::header_block(message_.fields);
      message_.spool->append(block);
      message_.body_offset = block.size();
    }
    return *message_.spool;
  }

  std::vector<std::string> visible_addresses(bool& unreadable) const;
  std::string subject() const {
    for (const Field& f : message_.fields) {
      if (core::iequals(f.name, "Subject")) return mime::decode_header_text(f.value);
    }
    return "";
  }
  std::string seal(plan::Plan transforms, const std::vector<const Target*>& targets) const;
  NoticeContext notice_context(const std::string& qid) const;
  smtp::Result submit(const std::vector<std::string>& to, const std::string& bytes) const;
  void send_notices(const std::string& qid, const MessageDecision& decision, bool rejected_all);
  plan::SendKeys subject_command(const std::string& qid, const Envelope& envelope, const MessageFacts& facts);

  const PolicyFilter& filter_;
  const FilterSettings& settings_;
  // Where the copy's XFORWARD says it came from.
  std::vector<std::pair<std::string, std::string>> xforward() const {
    const bool named = !client_name_.empty() && client_name_.front() != '[' && client_name_ != "unknown";
    return {{"NAME", named ? client_name_ : "[UNAVAILABLE]"},
            {"ADDR", client_address_.empty() ? "[UNAVAILABLE]" : client_address_},
            {"HELO", helo_}};
  }

  std::optional<core::IpAddress> client_;
  std::string client_name_, client_address_, helo_;
  Message message_;
};

std::vector<std::string> PolicySession::visible_addresses(bool& unreadable) const {
  std::vector<std::string> out;
  for (const Field& f : message_.fields) {
    if (!core::iequals(f.name, "To") && !core::iequals(f.name, "Cc")) continue;
    try {
      for (const mime::Mailbox& box : mime::parse_address_list(f.value)) {
        out.push_back(normalize_address(box.to_envelope()));
      }
    } catch (const mime::AddressError&) {
      unreadable = true;
    }
  }
  return out;
}

std::string PolicySession::seal(plan::Plan transforms, const std::vector<const Target*>& targets) const {
  // Header edits are done here; the plan carries what is left for the
  // milters after this one.
  transforms.add_headers.clear();
  transforms.remove_headers.clear();
  transforms.subject_tag.clear();
  transforms.recipients.clear();
  for (const Target* t : targets) transforms.recipients.push_back(t->address);
  const auto now = filter_.deps().now();
  return filter_.sealer().seal(
      transforms, plan::Stamp{std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count(),
                              filter_.deps().token()});
}

NoticeContext PolicySession::notice_context(const std::string& qid) const {
  NoticeContext ctx;
  ctx.from = settings_.notice_sender;
  ctx.hostname = settings_.hostname;
  ctx.token = filter_.deps().token();
  ctx.now = filter_.deps().now();
  ctx.queue_id = qid;
  ctx.sender = bare(message_.sender);
  for (const auto& r : message_.recipients) ctx.recipients.push_back(bare(r.front()));
  ctx.subject = subject();
  return ctx;
}

smtp::Result PolicySession::submit(const std::vector<std::string>& to, const std::string& bytes) const {
  smtp::Submission s;
  for (const auto& t : to) s.recipients.push_back({t, ""});
  return filter_.deps().submitter->submit(s, {bytes});
}

void PolicySession::send_notices(const std::string& qid, const MessageDecision& decision, bool rejected_all) {
  std::vector<Notice> notices;
  for (const auto& r : decision.recipients) {
    for (const Notice& n : r.decision.notices) {
      if (std::find(notices.begin(), notices.end(), n) == notices.end()) notices.push_back(n);
    }
  }
  const std::string sender = bare(message_.sender);
  for (const Notice& n : notices) {
    const bool alert = n.kind == Notice::Kind::alert;
    const char* kind = alert ? "alert" : "acknowledge";
    std::vector<std::string> to;
    if (alert) {
      for (const auto& a : n.to) to.push_back(bare(a));
      if (to.empty() && !settings_.admin.empty()) to.push_back(settings_.admin);
      if (to.empty()) {
        log::warning(qid, "notice-skipped", {{"kind", kind}, {"rule", n.rule}, {"reason", "no admin address"}});
        continue;
      }
    } else {
      // An acknowledgement answers the sender: never to a bounce or to
      // automatic mail (RFC 3834), and not for a message refused outright.
      auto why = no_reply_reason(sender, settings_.notice_sender, message_.auto_submitted, message_.precedence);
      if (!why && rejected_all) why = "message rejected";
      if (why) {
        log::info(qid, "notice-skipped", {{"kind", kind}, {"rule", n.rule}, {"reason", *why}});
        continue;
      }
      to.push_back(sender);
    }
    const std::string bytes = compose_notice(n, to, notice_context(qid));
    const smtp::Result r = submit(to, bytes);
    if (r.outcome == smtp::Outcome::accepted) {
      log::info(qid, "notice", {{"kind", kind}, {"rule", n.rule}, {"to", join(to)}});
    } else {
      log::warning(qid, "notice-failed", {{"kind", kind}, {"rule", n.rule}, {"to", join(to)}, {"reply", r.reply}});
    }
  }
}

// {send_keys} commands in the first Subject (subject_command.hpp): what
// every plan attaches, none when there is no command or it is not
// honoured. When honoured the commands leave the Subject: in the fields
// the copies are made from, and (new_subject) in this transaction.
plan::SendKeys PolicySession::subject_command(const std::string& qid, const Envelope& envelope,
                                              const MessageFacts& facts) {
  auto subject =
      std::find_if(message_.fields.begin(), message_.fields.end(), [](const Field& f) { return core::iequals(f.name, "Subject"); });
  if (subject == message_.fields.end()) return plan::SendKeys::none;
  std::optional<SubjectCommand> cmd = find_subject_commands(subject->value);
  if (!cmd) return plan::SendKeys::none;
  std::optional<std::string> refusal;
  if (!settings_.subject_commands) {
    refusal = "subject commands are turned off (policy.subject_commands)";
  } else {
    refusal = subject_command_refusal(filter_.policy().subject(envelope, facts, ""));
  }
  if (refusal) {
    log::info(qid, "subject_command",
              {{"from", message_.sender}, {"command", join(cmd->found)}, {"action", "ignored"}, {"reason", *refusal}});
    return plan::SendKeys::none;
  }
  subject->value = cmd->value;
  message_.new_subject = cmd->value;
  log::info(qid, "subject_command",
            {{"from", message_.sender}, {"command", join(cmd->found)}, {"action", "send_keys"},
             {"keys", plan::to_string(cmd->keys)}});
  return cmd->keys;
}

Verdict PolicySession::on_eom(Actions& actions) {
  const std::string qid = actions.queue_id();
  spool();

  // 1. Forged internal headers go, whatever the policy says.
  const int stripped = detail::strip_internal(message_.fields, actions);
  if (stripped > 0) log::info(qid, "stripped", {{"count", stripped}});

  // 2. The decision, per recipient.
  const auto view = message_.spool->view();
  Envelope envelope;
  envelope.sender = message_.sender;
  for (const auto& r : message_.recipients) envelope.recipients.push_back(r.front());
  envelope.client_address = client_;
  envelope.auth_user = message_.auth;
  envelope.listener = message_.listener;
  envelope.tls_version = message_.tls_version;
  envelope.tls_cipher_bits = message_.cipher_bits;
  const MessageFacts facts = MessageFacts::from_message(view.bytes());
  const MessageDecision decision = filter_.policy().decide_message(envelope, facts);
  const plan::SendKeys send_keys = subject_command(qid, envelope, facts);

  bool unreadable = false;
  const std::vector<std::string> visible = visible_addresses(unreadable);
  std::vector<Target> targets;
  std::vector<Refused> refused;
  std::vector<std::string> refused_given, discarded;  // as in the envelope
  std::string held_reason, held_by;
  auto add_target = [&](Target t) {
    const std::string key = normalize_address(t.address);
    if (std::none_of(targets.begin(), targets.end(),
                     [&](const Target& o) { return normalize_address(o.address) == key; })) {
      targets.push_back(std::move(t));
    }
  };
  for (std::size_t i = 0; i < decision.recipients.size(); ++i) {
    const auto& [rcpt, d] = decision.recipients[i];
    switch (d.disposition) {
      case Disposition::tempfail:
        log::warning(qid, "tempfail",
                     {{"from", message_.sender}, {"to", rcpt}, {"rule", d.decided_by}, {"reason", d.text}});
        return Verdict::tempfail("451", "4.3.0", "Policy lookup failed, try again later");
      case Disposition::reject:
        refused.push_back({bare(rcpt), d.text, d.decided_by});
        refused_given.push_back(rcpt);
        continue;
      case Disposition::discard:
        discarded.push_back(rcpt);
        continue;
      case Disposition::hold:
        if (held_by.empty()) {
          held_reason = d.text;
          held_by = d.decided_by;
        }
        break;
      case Disposition::accept:
        break;
    }
    const bool bcc = unreadable || std::find(visible.begin(), visible.end(), normalize_address(rcpt)) == visible.end();
    const bool held = d.disposition == Disposition::hold;
    const std::string args = dsn_args(message_.recipients[i]);
    plan::Plan transforms = d.transforms;
    if (!d.no_processing) transforms.send_keys = send_keys;  // no_processing: no keys attached either
    if (d.redirect_to.empty()) {
      add_target({bracketed(rcpt), rcpt, true, args, transforms, bcc, held});
    } else {
      for (const auto& to : d.redirect_to) add_target({bracketed(to), rcpt, false, "", transforms, bcc, held});
    }
    for (const auto& to : d.forward_to) add_target({bracketed(to), rcpt, false, "", transforms, bcc, held});
  }

  const std::size_t total = decision.recipients.size();
  if (!refused.empty() && refused.size() == total) {
    const std::string& text = refused.front().text;
    log::info(qid, "rejected",
              {{"from", message_.sender}, {"rule", refused.front().rule}, {"recipients", total}, {"text", text}});
    send_notices(qid, decision, true);
    return Verdict::reject("550", "5.7.1", text.empty() ? "Message refused by policy" : text);
  }

  // 3. Groups: the same plan together, each Bcc recipient alone; the held
  // recipients are one group whatever their plans.
  std::vector<Group> groups;
  for (const Target& t : targets) {
    Group* into = nullptr;
    for (Group& g : groups) {
      if (t.held ? g.held : (!g.held && !t.bcc && !g.targets.front()->bcc && g.transforms == t.transforms)) {
        into = &g;
        break;
      }
    }
    if (into == nullptr) into = &groups.emplace_back(Group{{}, t.transforms, t.held});
    into->targets.push_back(&t);
  }
  std::size_t kept = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].held) kept = g;
  }

  log::info(qid, "decided",
            {{"from", message_.sender},
             {"direction", to_string(decision.direction)},
             {"recipients", total},
             {"rejected", refused.size()},
             {"discarded", discarded.size()},
             {"held", held_by.empty() ? 0 : groups[kept].targets.size()},
             {"groups", groups.size()}});

  // 4. The non-delivery notice for partly refused mail goes first: when it
  // cannot be sent the message is tempfailed before any copy exists.
  if (!refused.empty()) {
    auto why =
        no_reply_reason(bare(message_.sender), settings_.notice_sender, message_.auto_submitted, message_.precedence);
    std::vector<std::string> names;
    for (const auto& r : refused) names.push_back("<" + r.recipient + ">");
    if (why) {
      log::info(qid, "notice-skipped", {{"kind", "non-delivery"}, {"to", message_.sender}, {"reason", *why}});
    } else {
      const std::string bytes = compose_non_delivery(refused, notice_context(qid));
      const smtp::Result r = submit({bare(message_.sender)}, bytes);
      if (r.outcome != smtp::Outcome::accepted) {
        log::warning(qid, "notice-failed", {{"kind", "non-delivery"}, {"to", message_.sender}, {"reply", r.reply}});
        return Verdict::tempfail("451", "4.3.0", "Cannot send a non-delivery notice, try again later");
      }
      log::info(qid, "notice", {{"kind", "non-delivery"}, {"to", message_.sender}, {"refused", join(names)}});
    }
    for (const auto& r : refused_given) actions.delete_recipient(r);
    log::info(qid, "rejected",
              {{"from", message_.sender},
               {"rule", refused.front().rule},
               {"recipients", join(names)},
               {"text", refused.front().text}});
  }
  for (const auto& d : discarded) actions.delete_recipient(d);
  if (!discarded.empty()) log::info(qid, "discarded", {{"from", message_.sender}, {"recipients", join(discarded)}});

  if (groups.empty()) {
    send_notices(qid, decision, false);
    return Verdict::discard();
  }

  // 5. Copies for every group but the kept one; all must be accepted.
  const std::string_view body = view.bytes().substr(std::min(message_.body_offset, view.bytes().size()));
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (g == kept) continue;
    const Group& group = groups[g];
    const std::string header = detail::header_block(
        detail::edited_fields(message_.fields, group.transforms, seal(group.transforms, group.targets)));
    smtp::Submission s;
    s.sender = bare(message_.sender);
    s.xforward = xforward();
    std::vector<std::string> names;
    for (const Target* t : group.targets) {
      s.recipients.push_back({bare(t->address), t->dsn});
      names.push_back(t->address);
    }
    actions.progress();
    const smtp::Result r = filter_.deps().submitter->submit(s, {header, body});
    if (r.outcome != smtp::Outcome::accepted) {
      log::warning(qid, "resubmit-failed",
                   {{"from", message_.sender}, {"to", join(names)}, {"step", r.step}, {"reply", r.reply}});
      return Verdict::tempfail("451", "4.3.0", "Cannot hand on a copy of the message, try again later");
    }
    log::info(qid, "resubmitted", {{"from", message_.sender}, {"to", join(names)}, {"reply", r.reply}});
  }

  // 6. The transaction now carries the kept group only.
  const Group& mine = groups[kept];
  for (const auto& r : message_.recipients) {
    const std::string& given = r.front();
    const bool stays = std::any_of(mine.targets.begin(), mine.targets.end(),
                                   [&](const Target* t) { return t->is_original && t->original == given; });
    const bool gone = std::find(refused_given.begin(), refused_given.end(), given) != refused_given.end() ||
                      std::find(discarded.begin(), discarded.end(), given) != discarded.end();
    if (!stays && !gone) actions.delete_recipient(given);
  }
  std::vector<std::string> redirected;
  for (const Target* t : mine.targets) {
    if (!t->is_original) {
      actions.add_recipient(t->address);
      redirected.push_back(t->original + "->" + t->address);
    }
  }
  if (!redirected.empty()) log::info(qid, "redirected", {{"from", message_.sender}, {"changes", join(redirected)}});
  if (message_.new_subject) actions.change_header("Subject", 1, *message_.new_subject);
  detail::apply_edits(message_.fields, mine.transforms, actions);
  actions.add_header(plan::kPlanHeader, " " + seal(mine.transforms, mine.targets));
  if (mine.held) {
    actions.quarantine(held_reason.empty() ? "held by policy rule " + held_by : held_reason);
    log::info(qid, "held", {{"from", message_.sender}, {"rule", held_by}, {"reason", held_reason}});
  }

  send_notices(qid, decision, false);
  return Verdict::proceed();
}

}  // namespace

PolicyFilter::PolicyFilter(FilterSettings settings, std::shared_ptr<const Policy> policy, plan::Secret secret,
                           FilterDeps deps)
    : settings_(std::move(settings)),
      policy_(std::move(policy)),
      sealer_(std::move(secret), plan::Sealer::Options{.max_age = settings_.plan_max_age}),
      deps_(std::move(deps)) {
  if (!policy_) throw std::invalid_argument("PolicyFilter: no policy");
  if (!deps_.submitter) deps_.submitter = std::make_shared<SmtpSubmitter>(settings_.reinjection, settings_.smtp);
  if (!deps_.now) deps_.now = [] { return std::chrono::system_clock::now(); };
  if (!deps_.token) deps_.token = random_token;
}

milter::Capabilities PolicyFilter::capabilities() const {
  milter::Capabilities c;
  c.connect = {true, false};
  c.helo = {true, false};
  c.envfrom = {true, false};
  c.envrcpt = {true, false};
  c.header = {true, false};
  c.eoh = {true, false};
  c.body = {true, false};
  c.add_headers = true;
  c.change_headers = true;
  c.add_recipients = true;
  c.delete_recipients = true;
  c.quarantine = true;
  c.macros[milter::Stage::envfrom] = {"{auth_authen}", "{daemon_name}", "{tls_version}", "{cipher_bits}"};
  return c;
}

std::unique_ptr<milter::Session> PolicyFilter::open_session() const { return std::make_unique<PolicySession>(*this); }

std::string random_token() {
  unsigned char raw[16];
  std::size_t got = 0;
  while (got < sizeof raw) {
    const ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0) throw std::runtime_error("no random bytes");
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : raw) {
    hex += kHex[b >> 4];
    hex += kHex[b & 0x0f];
  }
  return hex;
}

std::shared_ptr<const milter::Filter> build_filter(std::shared_ptr<const config::Config> config) {
  FilterSettings settings = FilterSettings::from(*config);
  Services services;
  auto keys = std::make_shared<keystore::KeyStore>(settings.keystore_root);
  if (settings.ldap.enabled()) {
    // Does not connect: a directory that is down makes lookups fail (and
    // the rules decide what that means), not the start or the reload.
    auto directory = std::make_shared<const ldap::Directory>(settings.ldap);
    services.directory = directory;
    // key_available: smime also sees the directory's certificates.
    keys->set_external_source(
        {"ldap", [directory](std::string_view address) { return directory->certificates(address); }});
  }
  services.keys = std::move(keys);
  auto policy = Policy::load(settings.rules_file, std::move(services));
  for (const auto& w : policy->warnings()) {
    log::warning("", "policy-warning", {{"diagnostic", w.to_string()}});
  }
  plan::Secret secret = plan::Secret::load(settings.secret_file);
  log::info("", "rules-loaded", {{"file", settings.rules_file}, {"rules", policy->rules().size()}});
  return std::make_shared<PolicyFilter>(std::move(settings), std::move(policy), std::move(secret), FilterDeps{});
}

}  // namespace postern::policy
