#include "postern/ctl/policy_commands.hpp"
#include "postern/core/strings.hpp"

#include <charconv>
#include <fstream>
#include <iostream>
#include <sstream>

#include "postern/policy/catalog.hpp"
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
  }
  if (p.sign) add("sign");
  if (p.decrypt) add("decrypt");
  if (p.verify) add("verify");
  if (p.incamail != plan::IncaMailType::none) add(std::string("incamail=") + to_string(p.incamail));
  for (const auto& h : p.add_headers) add("add_header=" + printable(h.name + ": " + h.value));
  for (const auto& h : p.remove_headers) add("remove_header=" + h);
  if (!p.subject_tag.empty()) add("subject_tag=" + printable(p.subject_tag));
  return out.empty() ? "no transforms" : out;
}

std::string plan_json(const plan::Plan& p) {
  std::string out = "{\"recipients\":[";
  for (std::size_t i = 0; i < p.recipients.size(); ++i) out += (i ? "," : "") + json_string(p.recipients[i]);
  out += "],\"encrypt\":" + json_string(to_string(p.encrypt));
  out += ",\"fallback\":" + json_string(to_string(p.fallback));
  out += std::string(",\"sign\":") + json_bool(p.sign) + ",\"decrypt\":" + json_bool(p.decrypt) +
         ",\"verify\":" + json_bool(p.verify);
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
      out << "not evaluated, stopped by '" << d.stopped_by << "'\n";
      continue;
    }
    out << (rt.matched ? "matched" : "did not match") << (rt.matched && rt.rule->stop ? ", stop" : "") << "\n";
    if (!rt.rule->when) out << "    yes  (no conditions)\n";
    for (const auto& c : rt.conditions) {
      out << std::string(4 + 2 * static_cast<std::size_t>(c.depth), ' ') << (c.matched ? "yes  " : "no   ")
          << printable(c.condition);
      if (!c.seen.empty()) out << "   [seen: " << printable(c.seen) << "]";
      out << "\n";
    }
  }
  out << "  => " << to_string(d.disposition);
  if (!d.decided_by.empty()) out << " by '" << d.decided_by << "'";
  if (!d.text.empty()) out << ": " << printable(d.text);
  out << "\n  plan: " << describe(d.transforms) << (d.no_processing ? " (no_processing)" : "") << "\n";
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
           ",\"matched\":" + json_bool(rt.matched) + ",\"conditions\":[";
    for (std::size_t j = 0; j < rt.conditions.size(); ++j) {
      const auto& c = rt.conditions[j];
      out += (j ? "," : "") + std::string("{\"condition\":") + json_string(c.condition) +
             ",\"depth\":" + std::to_string(c.depth) + ",\"matched\":" + json_bool(c.matched) +
             ",\"seen\":" + json_string(c.seen) + "}";
    }
    out += "]}";
  }
  plan::Plan p = d.transforms;
  p.recipients = {rcpt};
  return out + "],\"plan\":" + plan_json(p) + "}";
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
    "[-c POLICY] --from ADDR --rcpt ADDR [--rcpt ADDR...] [--client-ip IP] [--auth USER] [--listener NAME] "
    "[--tls VERSION:BITS] [--json] MESSAGE.eml";
constexpr char kExplainHelp[] =
    "  -c POLICY          the policy rules file (default /etc/postern/policy-rules.yaml)\n"
    "  --from ADDR        envelope sender; <> for the null sender\n"
    "  --rcpt ADDR        envelope recipient; repeat for each\n"
    "  --client-ip IP     SMTP client address ({client_addr})\n"
    "  --auth USER        SASL login ({auth_authen}); absent: not authenticated\n"
    "  --listener NAME    Postfix service name ({daemon_name}), default smtpd\n"
    "  --tls VERSION:BITS TLS used by the client, e.g. TLSv1.3:256; absent: no TLS\n"
    "  --json             one JSON object instead of text\n"
    "  MESSAGE.eml        the message as the client would send it; - reads standard input\n";

}  // namespace

ExplainOptions parse_explain_options(const std::vector<std::string>& args) {
  ExplainOptions o;
  o.envelope.listener = "smtpd";
  bool have_from = false;
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
  try {
    p = policy::Policy::load(options.policy_file);
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
    out << "policy: " << options.policy_file << "\ndirection: " << to_string(first.direction) << " ("
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
    out << "{\"policy\":" << json_string(options.policy_file) << ",\"direction\":"
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
