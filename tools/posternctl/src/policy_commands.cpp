#include "postern/ctl/policy_commands.hpp"
#include "postern/core/strings.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_map>
#include <fstream>
#include <iostream>
#include <sstream>

#include "postern/config/node.hpp"
#include "postern/core/strings.hpp"
#include "postern/config/config.hpp"
#include "postern/keystore/key_store.hpp"
#include "postern/ldap/directory.hpp"
#include "postern/policy/catalog.hpp"
#include "postern/policy/filter_settings.hpp"
#include "postern/policy/policy.hpp"

namespace postern::ctl {
namespace {

using policy::Decision;
using policy::RuleTrace;

std::string location(const core::Location& l) {
  return l.file + ":" + std::to_string(l.line) + ":" + std::to_string(l.column);
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0x0f];
    } else {
      out += c;  // UTF-8 passes as it is; a bad byte stays a bad byte, as in the mail
    }
  }
  return out + "\"";
}

const char* json_bool(bool b) { return b ? "true" : "false"; }

// Text as the terminal shows it: control characters escaped.
std::string printable(std::string_view s) { return core::escape_controls(s); }

std::string describe(const plan::Plan& p) {
  std::string out;
  auto add = [&out](const std::string& s) { out += (out.empty() ? "" : " ") + s; };
  if (p.encrypt != plan::EncryptMethod::none) {
    add(std::string("encrypt=") + to_string(p.encrypt) + " fallback=" + to_string(p.fallback));
    if (p.cipher != plan::ContentCipher::automatic) add(std::string("cipher=") + to_string(p.cipher));
  }
  if (p.sign) add("sign");
  if (p.decrypt) add("decrypt");
  if (p.verify) add(p.remove_signature ? "verify signature=remove" : "verify");
  if (p.revocation != plan::Revocation::inherit) add(std::string("revocation=") + to_string(p.revocation));
  if (!p.security_tags.decrypted.empty()) add("security_tag.decrypted=" + printable(p.security_tags.decrypted));
  if (!p.security_tags.signature_valid.empty()) add("security_tag.signed=" + printable(p.security_tags.signature_valid));
  if (!p.security_tags.signature_invalid.empty()) {
    add("security_tag.invalid=" + printable(p.security_tags.signature_invalid));
  }
  if (p.send_keys != plan::SendKeys::none) add(std::string("send_keys=") + to_string(p.send_keys));
  if (p.incamail != plan::IncaMailType::none) add(std::string("incamail=") + to_string(p.incamail));
  for (const auto& h : p.add_headers) add("add_header=" + printable(h.name + ": " + h.value));
  for (const auto& h : p.remove_headers) add("remove_header=" + h);
  if (!p.subject_tag.empty()) add("subject_tag=" + printable(p.subject_tag));
  return out.empty() ? "no transforms" : out;
}

// The generic actions postern-policy performs itself.
std::string describe_generic(const Decision& d) {
  std::string out;
  auto add = [&out](const std::string& s) { out += (out.empty() ? "" : " ") + s; };
  for (const auto& a : d.redirect_to) add("redirect=" + printable(a));
  for (const auto& a : d.forward_to) add("forward=" + printable(a));
  for (const auto& n : d.notices) {
    std::string to;
    for (const auto& a : n.to) to += (to.empty() ? "" : ",") + printable(a);
    add(n.kind == policy::Notice::Kind::alert ? "alert=" + to : std::string("acknowledge=sender"));
  }
  if (d.generate_keys) add("generate_keys");
  return out;
}

std::string string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + json_string(items[i]);
  return out + "]";
}

std::string generic_json(const Decision& d) {
  std::string out = ",\"redirect_to\":" + string_array(d.redirect_to) + ",\"forward_to\":" + string_array(d.forward_to) +
                    ",\"generate_keys\":" + json_bool(d.generate_keys) + ",\"notices\":[";
  for (std::size_t i = 0; i < d.notices.size(); ++i) {
    const auto& n = d.notices[i];
    out += (i ? "," : "") + std::string("{\"kind\":") +
           json_string(n.kind == policy::Notice::Kind::alert ? "alert" : "acknowledge") + ",\"to\":" +
           string_array(n.to) + ",\"text\":" + json_string(n.text) + ",\"rule\":" + json_string(n.rule) + "}";
  }
  return out + "]";
}

std::string plan_json(const plan::Plan& p) {
  std::string out = "{\"recipients\":[";
  for (std::size_t i = 0; i < p.recipients.size(); ++i) out += (i ? "," : "") + json_string(p.recipients[i]);
  out += "],\"encrypt\":" + json_string(to_string(p.encrypt));
  out += ",\"fallback\":" + json_string(to_string(p.fallback));
  out += ",\"cipher\":" + json_string(to_string(p.cipher));
  out += std::string(",\"sign\":") + json_bool(p.sign) + ",\"decrypt\":" + json_bool(p.decrypt) +
         ",\"verify\":" + json_bool(p.verify) + ",\"remove_signature\":" + json_bool(p.remove_signature);
  out += ",\"revocation\":" + json_string(to_string(p.revocation));
  out += ",\"security_tags\":{\"decrypted\":" + json_string(p.security_tags.decrypted) +
         ",\"signed\":" + json_string(p.security_tags.signature_valid) +
         ",\"invalid\":" + json_string(p.security_tags.signature_invalid) + "}";
  out += ",\"send_keys\":" + json_string(to_string(p.send_keys));
  out += ",\"incamail\":" + json_string(to_string(p.incamail)) + ",\"add_headers\":[";
  for (std::size_t i = 0; i < p.add_headers.size(); ++i) {
    out += (i ? "," : "") + std::string("{\"name\":") + json_string(p.add_headers[i].name) +
           ",\"value\":" + json_string(p.add_headers[i].value) + "}";
  }
  out += "],\"remove_headers\":[";
  for (std::size_t i = 0; i < p.remove_headers.size(); ++i) out += (i ? "," : "") + json_string(p.remove_headers[i]);
  return out + "],\"subject_tag\":" + json_string(p.subject_tag) + "}";
}

void print_text(const std::string& rcpt, const std::vector<RuleTrace>& trace, const Decision& d, std::ostream& out) {
  out << "\nrecipient " << printable(rcpt) << "\n";
  for (const RuleTrace& rt : trace) {
    out << "  rule '" << rt.rule->name << "' (" << location(rt.rule->where) << "): ";
    if (!rt.evaluated) {
      if (d.stopped_by.empty()) {
        out << "not evaluated, tempfail at '" << d.decided_by << "'\n";
      } else {
        out << "not evaluated, stopped by '" << d.stopped_by << "'\n";
      }
      continue;
    }
    out << (rt.failed ? "lookup failed, tempfail" : rt.matched ? "matched" : "did not match")
        << (rt.matched && rt.rule->stop ? ", stop" : "") << "\n";
    if (!rt.rule->when) out << "    yes  (no conditions)\n";
    for (const auto& c : rt.conditions) {
      out << std::string(4 + 2 * static_cast<std::size_t>(c.depth), ' ')
          << (c.failed ? "FAIL " : c.matched ? "yes  " : "no   ")
          << printable(c.condition);
      if (!c.seen.empty()) out << "   [seen: " << printable(c.seen) << "]";
      out << "\n";
    }
  }
  out << "  => " << to_string(d.disposition);
  if (!d.decided_by.empty()) out << " by '" << d.decided_by << "'";
  if (!d.text.empty()) out << ": " << printable(d.text);
  out << "\n  plan: " << describe(d.transforms) << (d.no_processing ? " (no_processing)" : "") << "\n";
  const std::string generic = describe_generic(d);
  if (!generic.empty()) out << "  also: " << generic << "\n";
}

std::string trace_json(const std::string& rcpt, const std::vector<RuleTrace>& trace, const Decision& d) {
  std::string out = "{\"recipient\":" + json_string(rcpt) + ",\"disposition\":" + json_string(to_string(d.disposition)) +
                    ",\"text\":" + json_string(d.text) + ",\"decided_by\":" + json_string(d.decided_by) +
                    ",\"stopped_by\":" + json_string(d.stopped_by) + ",\"no_processing\":" + json_bool(d.no_processing) +
                    ",\"rules\":[";
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const RuleTrace& rt = trace[i];
    out += (i ? "," : "") + std::string("{\"name\":") + json_string(rt.rule->name) +
           ",\"location\":" + json_string(location(rt.rule->where)) + ",\"evaluated\":" + json_bool(rt.evaluated) +
           ",\"matched\":" + json_bool(rt.matched) + ",\"failed\":" + json_bool(rt.failed) + ",\"conditions\":[";
    for (std::size_t j = 0; j < rt.conditions.size(); ++j) {
      const auto& c = rt.conditions[j];
      out += (j ? "," : "") + std::string("{\"condition\":") + json_string(c.condition) +
             ",\"depth\":" + std::to_string(c.depth) + ",\"matched\":" + json_bool(c.matched) +
             ",\"failed\":" + json_bool(c.failed) + ",\"seen\":" + json_string(c.seen) + "}";
    }
    out += "]}";
  }
  plan::Plan p = d.transforms;
  p.recipients = {rcpt};
  return out + "],\"plan\":" + plan_json(p) + generic_json(d) + "}";
}

// ---- --assume: a directory and key store answering from a file ----

class AssumedDirectory final : public lookup::Directory {
 public:
  struct Entry {
    std::vector<std::string> groups;  // DNs
    std::vector<std::pair<std::string, std::vector<std::string>>> attributes;
  };
  std::unordered_map<std::string, Entry> entries;
  bool unreachable = false;

  lookup::Lookup<std::vector<std::string>> attribute(std::string_view address, std::string_view name) const override {
    using R = lookup::Lookup<std::vector<std::string>>;
    if (unreachable) return R::failure("directory unreachable (assumed)");
    const auto e = entries.find(std::string(address));
    if (e != entries.end()) {
      for (const auto& [attr, values] : e->second.attributes) {
        if (core::iequals(attr, name)) return R::answer(values);
      }
    }
    return R::answer({});
  }
  lookup::Lookup<bool> member_of(std::string_view address, std::string_view group) const override {
    if (unreachable) return lookup::Lookup<bool>::failure("directory unreachable (assumed)");
    const auto e = entries.find(std::string(address));
    if (e == entries.end()) return lookup::Lookup<bool>::answer(false);
    const auto& g = e->second.groups;
    return lookup::Lookup<bool>::answer(std::find(g.begin(), g.end(), group) != g.end());
  }
};

class AssumedKeys final : public lookup::KeyFinder {
 public:
  std::unordered_map<std::string, std::vector<lookup::KeyKind>> keys;
  bool unreachable = false;

  lookup::Lookup<bool> has_usable_key(std::string_view address, lookup::KeyKind kind) const override {
    if (unreachable) return lookup::Lookup<bool>::failure("key store unreachable (assumed)");
    const auto k = keys.find(std::string(address));
    return lookup::Lookup<bool>::answer(k != keys.end() &&
                                        std::find(k->second.begin(), k->second.end(), kind) != k->second.end());
  }
};

void check_keys(const config::Node& map, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : map.entries()) {
    if (std::find(allowed.begin(), allowed.end(), key.text()) == allowed.end()) {
      throw core::ConfigError(key.where(), "unknown key " + config::quote(key.text()));
    }
  }
}

std::vector<std::string> texts(const config::Node& node) {
  std::vector<std::string> out;
  if (node.is_scalar()) {
    out.push_back(node.text());
  } else if (node.is_sequence()) {
    for (const auto& item : node.items()) {
      if (!item.is_scalar()) throw core::ConfigError(item.where(), "expected a value");
      out.push_back(item.text());
    }
  } else {
    throw core::ConfigError(node.where(), "expected a value or a list of values");
  }
  return out;
}

int parse_bits(const std::string& text) {
  int bits = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), bits);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || bits < 0 || bits > 100000) {
    throw UsageError("--tls wants VERSION:BITS, e.g. TLSv1.3:256");
  }
  return bits;
}

constexpr char kExplainSynopsis[] =
    "[-c POLICY] [--milter-config FILE] --from ADDR --rcpt ADDR [--rcpt ADDR...] [--client-ip IP] [--auth USER] "
    "[--listener NAME] [--tls VERSION:BITS] [--assume FILE] [--json] MESSAGE.eml";
constexpr char kExplainHelp[] =
    "  -c POLICY          the policy rules file (default /etc/postern/policy-rules.yaml, or the\n"
    "                     policy.rules of --milter-config)\n"
    "  --milter-config FILE  postern-policy's config (e.g. /etc/postern/policy.yaml): lookups ask the\n"
    "                     directory (ldap:) and key store (keystore.root) it names, as the milter does\n"
    "  --from ADDR        envelope sender; <> for the null sender\n"
    "  --rcpt ADDR        envelope recipient; repeat for each\n"
    "  --client-ip IP     SMTP client address ({client_addr})\n"
    "  --auth USER        SASL login ({auth_authen}); absent: not authenticated\n"
    "  --listener NAME    Postfix service name ({daemon_name}), default smtpd\n"
    "  --tls VERSION:BITS TLS used by the client, e.g. TLSv1.3:256; absent: no TLS\n"
    "  --assume FILE      answer directory and key-store lookups from FILE (YAML: directory, keys,\n"
    "                     unreachable); without it or --milter-config every lookup fails and shows\n"
    "                     the tempfail\n"
    "  --json             one JSON object instead of text\n"
    "  MESSAGE.eml        the message as the client would send it; - reads standard input\n";

}  // namespace

policy::Services assumed_services(const std::string& file, const policy::Policy& policy) {
  const config::Node root = config::parse_file(file);
  if (!root.is_map()) throw core::ConfigError(root.where(), "an --assume file is a mapping (directory, keys, unreachable)");
  check_keys(root, {"directory", "keys", "unreachable"});
  auto dir = std::make_shared<AssumedDirectory>();
  auto keys = std::make_shared<AssumedKeys>();
  if (const auto* d = root.find("directory")) {
    if (!d->is_map()) throw core::ConfigError(d->where(), "directory is a mapping of ADDRESS: {groups, attributes}");
    for (const auto& [address, entry] : d->entries()) {
      if (!entry.is_map()) throw core::ConfigError(entry.where(), "an entry is {groups: [...], attributes: {...}}");
      check_keys(entry, {"groups", "attributes"});
      AssumedDirectory::Entry e;
      if (const auto* groups = entry.find("groups")) {
        for (const auto& g : texts(*groups)) {
          std::string dn = g;  // a group name of the policy stands for its DN
          for (const auto& [name, group_dn] : policy.groups()) {
            if (name == g) dn = group_dn;
          }
          e.groups.push_back(dn);
        }
      }
      if (const auto* attrs = entry.find("attributes")) {
        if (!attrs->is_map()) throw core::ConfigError(attrs->where(), "attributes is a mapping of NAME: [values]");
        for (const auto& [name, values] : attrs->entries()) e.attributes.emplace_back(name.text(), texts(values));
      }
      dir->entries[policy::normalize_address(address.text())] = std::move(e);
    }
  }
  if (const auto* k = root.find("keys")) {
    if (!k->is_map()) throw core::ConfigError(k->where(), "keys is a mapping of ADDRESS: [smime, pgp]");
    for (const auto& [address, kinds] : k->entries()) {
      auto& list = keys->keys[policy::normalize_address(address.text())];
      for (const auto& kind : texts(kinds)) {
        if (kind == "smime") {
          list.push_back(lookup::KeyKind::smime_encrypt);
        } else if (kind == "pgp") {
          list.push_back(lookup::KeyKind::pgp_encrypt);
        } else {
          throw core::ConfigError(kinds.where(), "a key is smime or pgp, not " + config::quote(kind));
        }
      }
    }
  }
  if (const auto* u = root.find("unreachable")) {
    for (const auto& what : texts(*u)) {
      if (what == "directory") {
        dir->unreachable = true;
      } else if (what == "keys") {
        keys->unreachable = true;
      } else {
        throw core::ConfigError(u->where(), "unreachable lists directory and/or keys, not " + config::quote(what));
      }
    }
  }
  return policy::Services{std::move(dir), std::move(keys)};
}

ExplainOptions parse_explain_options(const std::vector<std::string>& args) {
  ExplainOptions o;
  o.envelope.listener = "smtpd";
  bool have_from = false;
  bool have_policy = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--json") {
      o.json = true;
      continue;
    }
    if (arg.rfind("-", 0) != 0 || arg == "-") {  // "-": the message on standard input
      if (!o.message_file.empty()) throw UsageError("more than one MESSAGE given");
      o.message_file = arg;
      continue;
    }
    const std::string value = take_option_value(args, i, arg);
    if (arg == "-c") {
      o.policy_file = value;
      have_policy = true;
    } else if (arg == "--milter-config") {
      o.milter_config = value;
    } else if (arg == "--assume") {
      o.assume_file = value;
    } else if (arg == "--from") {
      o.envelope.sender = value;
      have_from = true;
    } else if (arg == "--rcpt") {
      o.envelope.recipients.push_back(value);
    } else if (arg == "--client-ip") {
      o.envelope.client_address = core::IpAddress::parse(value);
      if (!o.envelope.client_address) throw UsageError("--client-ip: not an IP address: " + value);
    } else if (arg == "--auth") {
      o.envelope.auth_user = value;
    } else if (arg == "--listener") {
      o.envelope.listener = value;
    } else if (arg == "--tls") {
      const auto colon = value.find(':');
      if (colon == std::string::npos || colon == 0) throw UsageError("--tls wants VERSION:BITS, e.g. TLSv1.3:256");
      o.envelope.tls_version = value.substr(0, colon);
      o.envelope.tls_cipher_bits = parse_bits(value.substr(colon + 1));
    } else {
      throw UsageError("unknown option " + arg);
    }
  }
  if (!have_from) throw UsageError("--from is missing");
  if (o.envelope.recipients.empty()) throw UsageError("--rcpt is missing");
  if (o.message_file.empty()) throw UsageError("MESSAGE is missing");
  o.policy_file_given = have_policy;
  return o;
}

int policy_check(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  if (files.empty()) throw UsageError("FILE is missing");
  int status = kExitOk;
  for (const auto& file : files) {
    try {
      const auto p = policy::Policy::load(file);
      for (const auto& w : p->warnings()) out << w.to_string() << "\n";
    } catch (const core::ConfigError& e) {
      for (const auto& d : e.diagnostics()) out << d.to_string() << "\n";
      status = kExitFailed;
    } catch (const std::exception& e) {
      err << file << ": " << e.what() << "\n";
      status = kExitFailed;
    }
  }
  return status;
}

int policy_explain(const ExplainOptions& options, std::ostream& out, std::ostream& err) {
  std::shared_ptr<const policy::Policy> p;
  std::string policy_file = options.policy_file;
  try {
    std::optional<policy::Services> real;
    if (!options.milter_config.empty()) {
      // The milter's own settings and the same services build_filter makes.
      const auto config = config::load_file(policy::filter_schema(), options.milter_config);
      const policy::FilterSettings settings = policy::FilterSettings::from(config);
      if (!options.policy_file_given) policy_file = settings.rules_file;
      real.emplace();
      if (settings.ldap.enabled()) real->directory = std::make_shared<const ldap::Directory>(settings.ldap);
      real->keys = std::make_shared<const keystore::KeyStore>(settings.keystore_root);
    }
    p = policy::Policy::load(policy_file);
    if (!options.assume_file.empty()) {
      p = policy::Policy::load(policy_file, assumed_services(options.assume_file, *p));
    } else if (real) {
      p = policy::Policy::load(policy_file, std::move(*real));
    }
  } catch (const core::ConfigError& e) {
    for (const auto& d : e.diagnostics()) err << d.to_string() << "\n";
    return kExitError;
  }
  std::stringstream bytes;
  std::ifstream file;
  if (options.message_file != "-") file.open(options.message_file, std::ios::binary);
  std::istream& in = options.message_file == "-" ? std::cin : file;
  if (!in || !(bytes << in.rdbuf())) {
    err << options.message_file << ": cannot read the message\n";
    return kExitError;
  }
  const auto facts = policy::MessageFacts::from_message(bytes.str());
  const policy::MessageDecision message = p->decide_message(options.envelope, facts);
  if (!options.json) {
    const policy::Subject first = p->subject(options.envelope, facts, options.envelope.recipients.front());
    out << "policy: " << policy_file << "\ndirection: " << to_string(first.direction) << " ("
        << first.direction_reason << ")\n";
  }
  std::string json;
  for (const auto& rcpt : options.envelope.recipients) {
    const policy::Subject subject = p->subject(options.envelope, facts, rcpt);
    std::vector<RuleTrace> trace;
    const Decision d = p->decide(subject, &trace);
    if (options.json) {
      json += (json.empty() ? "" : ",") + trace_json(rcpt, trace, d);
      continue;
    }
    print_text(rcpt, trace, d, out);
  }
  if (options.json) {
    out << "{\"policy\":" << json_string(policy_file) << ",\"direction\":"
        << json_string(to_string(message.direction)) << ",\"recipients\":[" << json << "],\"groups\":[";
    for (std::size_t i = 0; i < message.groups.size(); ++i) out << (i ? "," : "") << plan_json(message.groups[i]);
    out << "]}\n";
    return kExitOk;
  }
  out << "\ngroups (accepted recipients with the same plan):\n";
  for (const auto& g : message.groups) {
    out << " ";
    for (const auto& r : g.recipients) out << " " << printable(r);
    out << ": " << describe(g) << "\n";
  }
  if (message.groups.empty()) out << "  none\n";
  return kExitOk;
}

int policy_dump(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() > 1) throw UsageError("at most one FILE");
  const std::string file = args.empty() ? std::string(kDefaultPolicyFile) : args.front();
  try {
    out << policy::Policy::load(file)->dump();
    return kExitOk;
  } catch (const core::ConfigError& e) {
    for (const auto& d : e.diagnostics()) err << d.to_string() << "\n";
    return kExitFailed;
  }
}

void add_policy_commands(Dispatcher& d) {
  d.add({.area = "policy",
         .name = "check",
         .synopsis = "FILE...",
         .summary = "load policy files as postern-policy does; one FILE:LINE:COL: message per problem",
         .help = "  exit 0: no errors (warnings may be printed), 1: errors\n",
         .run = [](const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
           return policy_check(args, out, err);
         }});
  d.add({.area = "policy",
         .name = "explain",
         .synopsis = kExplainSynopsis,
         .summary = "dry run: each rule and condition for each recipient, and the resulting plans",
         .help = kExplainHelp,
         .run = [](const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
           return policy_explain(parse_explain_options(args), out, err);
         }});
  d.add({.area = "policy",
         .name = "dump",
         .synopsis = "[FILE]",
         .summary = "print the effective policy after includes as YAML (list files inlined)",
         .help = "  FILE defaults to /etc/postern/policy-rules.yaml; exit 1 when it has errors\n",
         .run = [](const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
           return policy_dump(args, out, err);
         }});
  d.add({.area = "policy",
         .name = "reference",
         .synopsis = "",
         .summary = "print the condition and action reference (the generated part of docs/policy.md)",
         .help = "",
         .run = [](const std::vector<std::string>& args, std::ostream& out, std::ostream&) {
           if (!args.empty()) throw UsageError("no arguments expected");
           out << policy::reference_markdown();
           return kExitOk;
         }});
}

}  // namespace postern::ctl
