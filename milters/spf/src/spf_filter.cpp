#include "postern/spf_milter/spf_filter.hpp"

#include <algorithm>

#include "postern/core/strings.hpp"
#include "postern/log/log.hpp"
#include "postern/mime/address.hpp"
#include "postern/spf/dns_cache.hpp"
#include "postern/spf/pra.hpp"
#include "postern/spf/stub_resolver.hpp"
#include "postern/spf_milter/auth_headers.hpp"
#include "postern/spf_milter/tls_policy.hpp"

namespace postern::spf_milter {
namespace {

using milter::Verdict;

// "local@domain" in A-labels, "" for the null path. A path Postfix accepted
// but postern::mime cannot read is passed on as written: the checker then
// finds no checkable domain (result none).
std::string address_of(const std::string& arg) {
  try {
    auto mailbox = mime::parse_envelope_path(arg);
    if (!mailbox) {
      return "";
    }
    return mailbox->local_part + "@" + mailbox->domain_ascii();
  } catch (const mime::AddressError&) {
    std::string_view raw = core::trim(arg);
    if (raw.size() >= 2 && raw.front() == '<' && raw.back() == '>') {
      raw = raw.substr(1, raw.size() - 2);
    }
    return std::string(raw);
  }
}

std::string domain_of(const std::string& address) {
  const auto at = address.rfind('@');
  return at == std::string::npos ? std::string() : core::ascii_lower(address.substr(at + 1));
}

bool is_pra_candidate(std::string_view name) {
  for (const char* n : {"Resent-Sender", "Resent-From", "Sender", "From", "Received", "Return-Path"}) {
    if (core::iequals(name, n)) {
      return true;
    }
  }
  return false;
}

class SpfSession final : public milter::Session {
 public:
  explicit SpfSession(const SpfFilter& filter) : filter_(filter), s_(filter.settings()) {}

  // Trusted and unknown clients are let through at connect: Postfix then
  // skips this milter for the whole connection (no headers, no replies to
  // wait for), which keeps internal relaying at bare-Postfix speed.
  Verdict on_connect(const milter::ConnectInfo& info, milter::Actions& actions) override {
    client_ = core::IpAddress::parse(info.address);
    helo_outcome_.reset();
    const char* reason = !client_ ? "unknown-client"
                         : core::contains_any(s_.trusted_networks, *client_) ? "trusted"
                                                                               : nullptr;
    if (reason == nullptr) {
      return Verdict::proceed();
    }
    log::info(actions.queue_id(), "skipped",
              {{"reason", reason}, {"client", client_ ? "[" + client_->to_string() + "]" : "unknown"}});
    return Verdict::accept();
  }

  Verdict on_helo(std::string_view helo, milter::Actions&) override {
    helo_ = std::string(helo);
    helo_outcome_.reset();
    return Verdict::proceed();
  }

  Verdict on_mail(const std::vector<std::string>& args, milter::Actions& actions) override {
    reset();
    sender_ = address_of(args.empty() ? std::string() : args.front());
    sender_domain_ = domain_of(sender_);
    tls_ = tls_facts(actions);
    daemon_ = actions.macro("{daemon_name}").value_or("");
    if (!client_) {
      skip_reason_ = "unknown-client";  // accepted at connect; here only if the MTA carried on
    } else if (s_.skip_authenticated && !actions.macro("{auth_authen}").value_or("").empty()) {
      skip_reason_ = "authenticated";
    }
    if (!skip_reason_.empty()) {
      return Verdict::proceed();
    }
    mailfrom_ = filter_.checker().check({spf::Identity::mailfrom, *client_, helo_, sender_});
    if (s_.check_helo && !sender_.empty() && !helo_.empty()) {
      if (!helo_outcome_) {
        helo_outcome_ = filter_.checker().check({spf::Identity::helo, *client_, helo_, ""});
      }
    }
    return Verdict::proceed();
  }

  Verdict on_rcpt(const std::vector<std::string>& args, milter::Actions& actions) override {
    if (!skip_reason_.empty() || !mailfrom_) {
      return Verdict::proceed();
    }
    const std::string rcpt_domain = domain_of(address_of(args.empty() ? std::string() : args.front()));
    const bool scoped = in_scope(rcpt_domain);
    Verdict v = decide(scoped);
    if (v.status != milter::Status::proceed) {
      log_decision(actions, v);
      return v;
    }
    any_in_scope_ = any_in_scope_ || scoped;
    any_accepted_ = true;
    return v;
  }

  Verdict on_header(std::string_view name, std::string_view value, milter::Actions&) override {
    if (core::iequals(name, "Authentication-Results")) {
      ++ar_seen_;
      if (is_ours(value, s_.authserv_id)) {
        forged_ar_.push_back(ar_seen_);
      }
    } else if (core::iequals(name, "Received-SPF")) {
      ++received_spf_seen_;
    }
    if (s_.senderid && skip_reason_.empty() && is_pra_candidate(name) && headers_.size() < 1000) {
      headers_.emplace_back(std::string(name), std::string(value));
    }
    return Verdict::proceed();
  }

  Verdict on_eoh(milter::Actions& actions) override {
    if (!s_.senderid || !skip_reason_.empty() || !mailfrom_ || !any_accepted_) {
      return Verdict::proceed();
    }
    const spf::Pra pra = spf::find_pra(headers_);
    pra_header_ = pra.header;
    if (pra.mailbox) {
      try {
        pra_address_ = pra.mailbox->local_part + "@" + pra.mailbox->domain_ascii();
      } catch (const mime::AddressError&) {
        pra_address_ = pra.mailbox->addr_spec();
      }
      senderid_ = filter_.checker().check({spf::Identity::pra, *client_, helo_, pra_address_});
    } else {
      senderid_ = spf::Outcome{spf::Result::permerror, "", pra.problem, 0, 0};
    }
    if (s_.mode == Mode::securemail && s_.enforce_senderid && any_in_scope_ &&
        senderid_->result == spf::Result::fail) {
      Verdict v = Verdict::reject("550", "5.7.1",
                                  "SenderID: " + senderid_->domain + " does not permit " + client_->to_string() +
                                      " to send mail from " + pra_header_ + " address (SecureMail policy)");
      log_decision(actions, v);
      return v;
    }
    return Verdict::proceed();
  }

  Verdict on_eom(milter::Actions& actions) override {
    // Forgeries first (RFC 8601 §5), from the last so indexes stay right.
    for (auto it = forged_ar_.rbegin(); it != forged_ar_.rend(); ++it) {
      actions.change_header("Authentication-Results", *it, std::nullopt);
    }
    for (int i = received_spf_seen_; i >= 1; --i) {
      actions.change_header("Received-SPF", i, std::nullopt);
    }
    if (skip_reason_.empty() && mailfrom_) {
      const AuthFacts facts = auth_facts();
      if (s_.received_spf) {
        actions.insert_header(0, "Received-SPF", received_spf(facts));
      }
      actions.insert_header(0, "Authentication-Results", authentication_results(facts));
    }
    log_decision(actions, Verdict::proceed());
    reset();
    return Verdict::proceed();
  }

  void on_abort() override { reset(); }

 private:
  void reset() {
    sender_.clear();
    sender_domain_.clear();
    daemon_.clear();
    skip_reason_.clear();
    mailfrom_.reset();
    tls_ = {};
    any_in_scope_ = false;
    any_accepted_ = false;
    headers_.clear();
    ar_seen_ = 0;
    forged_ar_.clear();
    received_spf_seen_ = 0;
    senderid_.reset();
    pra_header_.clear();
    pra_address_.clear();
  }

  bool in_scope(const std::string& rcpt_domain) const {
    if (s_.mode != Mode::securemail) {
      return false;
    }
    if (s_.scope_listeners.empty() && s_.scope_recipient_domains.empty() && s_.scope_sender_domains.empty()) {
      return true;
    }
    return std::find(s_.scope_listeners.begin(), s_.scope_listeners.end(), daemon_) != s_.scope_listeners.end() ||
           domain_listed(s_.scope_recipient_domains, rcpt_domain) ||
           domain_listed(s_.scope_sender_domains, sender_domain_);
  }

  Verdict decide(bool scoped) const {
    if (scoped && s_.require_tls) {
      if (auto reply = tls_violation(tls_, s_.tls)) {
        return Verdict{milter::Status::reject, *reply};
      }
    }
    const ModeRules& rules = scoped ? s_.securemail : s_.best_effort;
    const std::string& domain = mailfrom_->domain;
    const std::string ip = client_->to_string();
    switch (mailfrom_->result) {
      case spf::Result::fail:
        if (scoped) {
          return Verdict::reject("550", "5.7.23",
                                 "SPF: " + domain + " does not permit " + ip + " to send its mail (SecureMail policy)");
        }
        break;
      case spf::Result::softfail:
        if (scoped && s_.reject_softfail) {
          return Verdict::reject("550", "5.7.23",
                                 "SPF: " + domain + " does not permit " + ip +
                                     " to send its mail (softfail; SecureMail policy)");
        }
        break;
      case spf::Result::temperror:
        if (rules.on_temperror == OnDnsError::tempfail) {
          return Verdict::tempfail("451", "4.4.3",
                                   "SPF: temporary DNS error checking " + domain + ", try again later");
        }
        break;
      case spf::Result::permerror:
        if (rules.on_permerror == OnPermError::reject) {
          return Verdict::reject("550", "5.7.24", "SPF: the SPF record of " + domain + " is invalid");
        }
        break;
      default:
        break;
    }
    return Verdict::proceed();
  }

  AuthFacts auth_facts() const {
    AuthFacts f;
    f.authserv_id = s_.authserv_id;
    f.client = *client_;
    f.helo = helo_;
    f.envelope_from = sender_;
    f.mailfrom = mailfrom_;
    if (!sender_.empty()) {
      f.helo_check = helo_outcome_;
    }
    f.senderid = senderid_;
    f.pra_header = pra_header_;
    f.pra_address = pra_address_;
    f.tls = tls_;
    if (tls_.version) {
      f.tls_meets_policy = !tls_violation(tls_, s_.tls).has_value();
    }
    return f;
  }

  void log_decision(const milter::Actions& actions, const Verdict& v) const {
    const std::string qid = actions.queue_id();
    const std::string mailfrom = "<" + sender_ + ">";
    if (!skip_reason_.empty()) {
      log::info(qid, "skipped", {{"reason", skip_reason_}, {"smtp.mailfrom", mailfrom}});
      return;
    }
    if (!mailfrom_) {
      return;
    }
    std::string action = "continue";
    std::string dsn = "-";
    if (v.status != milter::Status::proceed && v.reply) {
      action = v.status == milter::Status::tempfail ? "tempfail" : "reject";
      dsn = v.reply->xcode;
    }
    log::info(qid, "checked",
              {{"spf", spf::to_string(mailfrom_->result)},
               {"smtp.mailfrom", mailfrom},
               {"client", "[" + client_->to_string() + "]"},
               {"helo", helo_outcome_ && !sender_.empty() ? spf::to_string(helo_outcome_->result) : "-"},
               {"senderid", senderid_ ? spf::to_string(senderid_->result) : "-"},
               {"tls", tls_.version.value_or("none")},
               {"problem", mailfrom_->problem.empty() ? "-" : mailfrom_->problem},
               {"action", action},
               {"dsn", dsn}});
  }

  const SpfFilter& filter_;
  const Settings& s_;
  std::optional<core::IpAddress> client_;
  std::string helo_;
  std::optional<spf::Outcome> helo_outcome_;  // per HELO name, reused by later messages

  std::string sender_;
  std::string sender_domain_;
  std::string daemon_;
  std::string skip_reason_;
  std::optional<spf::Outcome> mailfrom_;
  TlsFacts tls_;
  bool any_in_scope_ = false;
  bool any_accepted_ = false;
  std::vector<std::pair<std::string, std::string>> headers_;
  int ar_seen_ = 0;
  std::vector<int> forged_ar_;
  int received_spf_seen_ = 0;
  std::optional<spf::Outcome> senderid_;
  std::string pra_header_;
  std::string pra_address_;
};

}  // namespace

SpfFilter::SpfFilter(Settings settings, std::shared_ptr<const spf::Resolver> resolver)
    : settings_(std::move(settings)), checker_(std::move(resolver), settings_.limits) {}

milter::Capabilities SpfFilter::capabilities() const {
  milter::Capabilities c;
  c.connect = {true, true};
  c.helo = {true, false};
  c.envfrom = {true, false};
  c.envrcpt = {true, true};
  c.header = {true, false};
  c.eoh = {true, true};
  c.add_headers = true;
  c.change_headers = true;
  c.macros = {
      {milter::Stage::connect, {"{daemon_name}"}},
      {milter::Stage::helo, {"{tls_version}", "{cipher}", "{cipher_bits}"}},
      {milter::Stage::envfrom, {"{auth_authen}"}},
      {milter::Stage::eom, {"i"}},
  };
  return c;
}

std::unique_ptr<milter::Session> SpfFilter::open_session() const { return std::make_unique<SpfSession>(*this); }

std::shared_ptr<const milter::Filter> build_filter_with(const config::Config& config,
                                                        std::shared_ptr<const spf::Resolver> resolver) {
  return std::make_shared<SpfFilter>(Settings::from(config), std::move(resolver));
}

std::shared_ptr<const milter::Filter> build_filter(std::shared_ptr<const config::Config> config) {
  Settings settings = Settings::from(*config);
  auto stub = std::make_shared<spf::StubResolver>(settings.dns);
  auto cached = std::make_shared<spf::CachingResolver>(std::move(stub), settings.cache);
  return std::make_shared<SpfFilter>(std::move(settings), std::move(cached));
}

}  // namespace postern::spf_milter
