#include "postern/incamail/settings.hpp"

#include <algorithm>

#include "postern/core/error.hpp"
#include "postern/core/strings.hpp"
#include "postern/incamail/text.hpp"
#include "postern/mime/address.hpp"
#include "postern/milter/program.hpp"
#include "postern/plan/secret.hpp"

namespace postern::incamail {

namespace {

config::Schema build_schema() {
  using config::Type;
  config::Schema s("postern-incamail",
                   "Sends tagged mail from internal senders through Swiss Post's IncaMail platform and "
                   "recognises mail from IncaMail by its verified TLS client certificate.");
  milter::declare_common_keys(s, kDefaultSocket);

  s.section("internal", "Who counts as an internal sender, and which recipient domains are internal");
  s.key({.path = "internal.networks",
         .type = Type::network_list,
         .default_value = "[127.0.0.0/8, '::1']",
         .doc = "client addresses whose mail is internal (the milter's connect address)"});
  s.key({.path = "internal.listeners",
         .type = Type::string_list,
         .doc = "Postfix listeners whose mail is internal, by {daemon_name} (master.cf: -o "
                "milter_macro_daemon_name=NAME)"});
  s.key({.path = "internal.authenticated",
         .type = Type::boolean,
         .default_value = "true",
         .doc = "mail from SASL-authenticated clients ({auth_authen}) is internal"});
  s.key({.path = "internal.domains",
         .type = Type::string_list,
         .doc = "recipient domains that stay internal and are never rewritten; example.com matches that "
                "domain, .example.com its subdomains"});

  s.section("outbound", "Tagged mail from internal senders");
  s.key({.path = "outbound.tag_position",
         .type = Type::string,
         .default_value = "anywhere",
         .doc = "where a tag counts: anywhere in the subject (also after Re:/AW:), or only at its start",
         .choices = {"anywhere", "prefix"}});
  s.key({.path = "outbound.tag_case_sensitive",
         .type = Type::boolean,
         .default_value = "false",
         .doc = "match `<im><c>` exactly as written; false also accepts `<IM><C>`"});
  s.key({.path = "outbound.on_bad_tag",
         .type = Type::string,
         .default_value = "reject",
         .doc = "unknown tag letter or two different tags: reject with 5.7.1, or send as confidential "
                "(logged)",
         .choices = {"reject", "confidential"}});
  s.key({.path = "outbound.untagged_incamail_recipient",
         .type = Type::string,
         .default_value = "tag_confidential",
         .doc = "untagged mail to an address ending in .incamail.ch: add `<im><c>` to the subject, or keep "
                "the subject as it is",
         .choices = {"tag_confidential", "keep"}});
  s.key({.path = "outbound.max_size",
         .type = Type::size,
         .default_value = "30M",
         .doc = "largest message sent via IncaMail (IncaMail's limit is 30 MB); larger: 552 5.3.4",
         .min = 1024,
         .max = std::int64_t{1} << 40});
  s.key({.path = "outbound.registered_max_size",
         .type = Type::size,
         .default_value = "10M",
         .doc = "registered mail above this size is logged with a warning or refused "
                "(Swiss Post advises 10 MB at most)",
         .min = 1024,
         .max = std::int64_t{1} << 40});
  s.key({.path = "outbound.on_registered_too_large",
         .type = Type::string,
         .default_value = "warn",
         .doc = "registered mail above registered_max_size: log a warning and send, or reject with 552 5.3.4",
         .choices = {"warn", "reject"}});

  s.section("inbound", "Mail that comes from IncaMail");
  s.key({.path = "inbound.cert_subjects",
         .type = Type::string_list,
         .doc = "Common Names of IncaMail's TLS client certificates ({cert_subject}); empty: no mail is "
                "recognised as IncaMail"});
  s.key({.path = "inbound.cert_issuers",
         .type = Type::string_list,
         .doc = "Common Names of the CAs that issue them ({cert_issuer}); set together with cert_subjects"});
  s.key({.path = "inbound.lookalike_domains",
         .type = Type::string_list,
         .default_value = "[im.post.ch, .im.post.ch, incamail.ch, .incamail.ch]",
         .doc = "a From or envelope sender in these domains makes mail look like IncaMail"});
  s.key({.path = "inbound.lookalike_subject_marks",
         .type = Type::string_list,
         .default_value = "['(Secured by IncaMail)']",
         .doc = "subject text (ASCII case ignored) that makes mail look like IncaMail"});
  s.key({.path = "inbound.on_unverified",
         .type = Type::string,
         .default_value = "tag",
         .doc = "mail that looks like IncaMail without IncaMail's verified certificate: tag the subject, "
                "or reject with 5.7.1",
         .choices = {"tag", "reject"}});
  s.key({.path = "inbound.unverified_tag",
         .type = Type::string,
         .default_value = "'[IncaMail unverified]'",
         .doc = "text put in front of the subject of such mail (printable ASCII)"});

  s.section("plan", "Plans from postern-policy (policy rules that send mail via IncaMail)");
  s.key({.path = "plan.secret_file",
         .type = Type::string,
         .default_value = "\"\"",
         .doc = "the secret postern-policy signs X-Postern-Plan with (readable only by the service user); "
                "empty: plans are not read and are left to the milters after this one"});
  s.key({.path = "plan.max_age",
         .type = Type::duration,
         .default_value = "10m",
         .doc = "a plan older than this is refused (the message is tempfailed)",
         .min = 1000,
         .max = 24 * 3600 * 1000});
  return s;
}

}  // namespace

const config::Schema& schema() {
  static const config::Schema s = build_schema();
  return s;
}

DomainList::DomainList(const std::vector<std::string>& entries, const core::Location& where) {
  for (const auto& entry : entries) {
    const bool parent = !entry.empty() && entry.front() == '.';
    const std::string name = parent ? entry.substr(1) : entry;
    std::string ascii;
    try {
      auto probe = mime::parse_envelope_path("<x@" + name + ">");
      if (probe && probe->domain.front() != '[' && !probe->trailing_dot) ascii = probe->domain_ascii();
    } catch (const mime::AddressError&) {
    }
    if (ascii.empty()) {
      throw core::ConfigError(where, "'" + entry + "' is not a domain name (write example.com or .example.com)");
    }
    (parent ? parents_ : exact_).push_back(std::move(ascii));
  }
}

bool DomainList::matches(std::string_view domain) const noexcept {
  if (std::find(exact_.begin(), exact_.end(), domain) != exact_.end()) {
    return true;
  }
  return std::any_of(parents_.begin(), parents_.end(), [domain](const std::string& p) {
    return domain.size() > p.size() + 1 && domain.substr(domain.size() - p.size()) == p &&
           domain[domain.size() - p.size() - 1] == '.';
  });
}

bool DomainList::mentioned_in(std::string_view text) const noexcept {
  auto found = [text](const std::string& d) { return core::icontains(text, d); };
  return std::any_of(exact_.begin(), exact_.end(), found) || std::any_of(parents_.begin(), parents_.end(), found);
}

Settings Settings::from(const config::Config& c) {
  std::vector<core::Diagnostic> problems;
  auto check = [&problems](auto&& fn) {
    try {
      fn();
    } catch (const core::ConfigError& e) {
      problems.insert(problems.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  };

  Settings s;
  s.internal_networks = c.get_networks("internal.networks");
  s.internal_listeners = c.get_list("internal.listeners");
  s.authenticated_is_internal = c.get_bool("internal.authenticated");
  check([&] { s.internal_domains = DomainList(c.get_list("internal.domains"), c.where("internal.domains")); });

  s.tags.position = config::choose<TagPosition>(c, "outbound.tag_position",
                                                {{"anywhere", TagPosition::anywhere}, {"prefix", TagPosition::prefix}});
  s.tags.case_sensitive = c.get_bool("outbound.tag_case_sensitive");
  s.on_bad_tag = config::choose<OnBadTag>(c, "outbound.on_bad_tag",
                                          {{"reject", OnBadTag::reject}, {"confidential", OnBadTag::confidential}});
  s.untagged_incamail_recipient =
      config::choose<Untagged>(c, "outbound.untagged_incamail_recipient",
                               {{"tag_confidential", Untagged::tag_confidential}, {"keep", Untagged::keep}});
  s.max_size = c.get_size("outbound.max_size");
  s.registered_max_size = c.get_size("outbound.registered_max_size");
  s.on_registered_too_large =
      config::choose<OnRegisteredTooLarge>(c, "outbound.on_registered_too_large",
                                           {{"warn", OnRegisteredTooLarge::warn},
                                            {"reject", OnRegisteredTooLarge::reject}});

  s.cert_subjects = c.get_list("inbound.cert_subjects");
  s.cert_issuers = c.get_list("inbound.cert_issuers");
  if (s.cert_subjects.empty() != s.cert_issuers.empty()) {
    const char* missing = s.cert_subjects.empty() ? "inbound.cert_subjects" : "inbound.cert_issuers";
    const char* given = s.cert_subjects.empty() ? "inbound.cert_issuers" : "inbound.cert_subjects";
    problems.push_back({c.where(given), std::string(missing) + " must be set together with " + given +
                                            ": mail is verified only when both the certificate and its issuer match"});
  }
  check([&] {
    s.lookalike_domains = DomainList(c.get_list("inbound.lookalike_domains"), c.where("inbound.lookalike_domains"));
  });
  s.lookalike_subject_marks = c.get_list("inbound.lookalike_subject_marks");
  if (std::any_of(s.lookalike_subject_marks.begin(), s.lookalike_subject_marks.end(),
                  [](const std::string& m) { return m.empty(); })) {
    problems.push_back({c.where("inbound.lookalike_subject_marks"),
                        "inbound.lookalike_subject_marks: an empty mark would match every subject"});
  }
  s.on_unverified =
      config::choose<OnUnverified>(c, "inbound.on_unverified",
                                   {{"tag", OnUnverified::tag}, {"reject", OnUnverified::reject}});
  s.unverified_tag = c.get_string("inbound.unverified_tag");
  if (s.unverified_tag.empty() || printable(s.unverified_tag, s.unverified_tag.size()) != s.unverified_tag) {
    problems.push_back({c.where("inbound.unverified_tag"),
                        "inbound.unverified_tag must be printable ASCII and not empty: it is written into the "
                        "Subject as it is"});
  }
  s.plan_secret_file = c.get_string("plan.secret_file");
  s.plan_max_age = std::chrono::duration_cast<std::chrono::seconds>(c.get_duration("plan.max_age"));
  if (!s.plan_secret_file.empty()) {
    // Read now so a missing or readable-by-others secret is a config error
    // at start or reload, not a tempfail on every message.
    check([&] {
      try {
        (void)plan::Secret::load(s.plan_secret_file);
      } catch (const core::ConfigError& e) {
        std::string why;
        for (const auto& d : e.diagnostics()) why += (why.empty() ? "" : "; ") + d.message;
        throw core::ConfigError(c.where("plan.secret_file"), why);
      }
    });
  }
  if (!problems.empty()) {
    throw core::ConfigError(std::move(problems));
  }
  return s;
}

}  // namespace postern::incamail
