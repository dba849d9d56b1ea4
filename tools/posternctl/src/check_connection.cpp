#include "postern/ctl/check_connection.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <optional>
#include <stdexcept>

#include "postern/core/net.hpp"
#include "postern/core/strings.hpp"

namespace postern::ctl {

namespace {

constexpr const char* kSynopsis =
    "HOST[:PORT] [--ca FILE] [--org NAME] [--sha1 FP] [--sha256 FP] [--match NAME] [--cert FILE --key FILE] "
    "[--helo NAME] [--timeout SECONDS]";

constexpr const char* kHelp =
    "  HOST[:PORT]       the IncaMail MX as the transport names it; port 25 unless given ([v6addr]:port)\n"
    "  --ca FILE         the only CA the chain may lead to (default /etc/postfix/incamail/ca.pem)\n"
    "  --org NAME        organisation (O=) the server certificate must carry (default \"Post CH AG\")\n"
    "  --sha1 FP         pinned SHA-1 fingerprint of the server certificate, as the checklist gives it\n"
    "  --sha256 FP       pinned SHA-256 fingerprint (hex, colons optional)\n"
    "  --match NAME      name the certificate must be valid for (default HOST), like Postfix's match=\n"
    "  --cert FILE       the organisation's client certificate (PEM, with its chain) to test mutual TLS\n"
    "  --key FILE        its private key\n"
    "  --helo NAME       name to send in EHLO (default this host's name)\n"
    "  --timeout SECONDS for connecting and each reply (default 30)\n"
    "exit: 0 every check OK, 1 a check failed, 2 a local file could not be used, 64 usage\n";

unsigned parse_number(const std::string& text, unsigned min, unsigned max, const std::string& what) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    throw UsageError(what + " must be a number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  const unsigned value = static_cast<unsigned>(std::stoul(text));
  if (value < min || value > max) {
    throw UsageError(what + " must be a number from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return value;
}

// HOST, HOST:PORT, [ADDR], [ADDR]:PORT; a bare IPv6 address has more than
// one colon and no port.
void parse_target(const std::string& text, ProbeOptions& o) {
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) throw UsageError("missing ']' in " + text);
    o.host = text.substr(1, close - 1);
    const std::string rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') throw UsageError("expected :PORT after ] in " + text);
      port = rest.substr(1);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    o.host = text.substr(0, colon);
    port = text.substr(colon + 1);
  } else {
    o.host = text;
  }
  if (o.host.empty()) throw UsageError("no host in '" + text + "'");
  if (!port.empty() || text.back() == ':') o.port = parse_number(port, 1, 65535, "the port");
}

enum class Mark { ok, fail, skip, note };

class Report {
 public:
  explicit Report(std::ostream& out) : out_(out) {}
  void line(Mark mark, const std::string& check, const std::string& text) {
    static const char* const kWords[] = {"OK  ", "FAIL", "SKIP", "NOTE"};
    out_ << kWords[static_cast<int>(mark)] << " " << check << ": " << text << "\n";
    if (mark == Mark::fail) ++failures_;
  }
  void check(bool good, const std::string& check, const std::string& ok_text, const std::string& fail_text) {
    line(good ? Mark::ok : Mark::fail, check, good ? ok_text : fail_text);
  }
  int finish() {
    if (failures_ == 0) {
      out_ << "RESULT: OK\n";
      return kExitOk;
    }
    out_ << "RESULT: FAIL (" << failures_ << (failures_ == 1 ? " check" : " checks") << " failed)\n";
    return kExitFailed;
  }

 private:
  std::ostream& out_;
  int failures_ = 0;
};

void print_chain(const std::vector<CertInfo>& chain, std::ostream& out) {
  out << "chain as the server sent it (leaf first):\n";
  for (std::size_t i = 0; i < chain.size(); ++i) {
    const CertInfo& c = chain[i];
    out << "  [" << i << "] subject: " << c.subject << "\n"
        << "      issuer:  " << c.issuer << "\n"
        << "      valid:   " << c.not_before << " until " << c.not_after << "\n"
        << "      sha1:    " << c.sha1 << "\n"
        << "      sha256:  " << c.sha256 << "\n";
  }
}

void pin(Report& r, const std::string& name, const std::string& expected, const std::string& actual) {
  if (expected.empty()) {
    r.line(Mark::skip, name + " pin", "none given");
    return;
  }
  std::string got;
  for (char c : actual) {
    if (c != ':') got += core::ascii_lower(c);
  }
  r.check(got == expected, name + " pin", "matches", "the certificate has " + actual);
}

}  // namespace

std::string normalize_fingerprint(std::string_view text, std::size_t bytes, std::string_view option) {
  std::string hex;
  for (char c : text) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      throw UsageError(std::string(option) + ": '" + std::string(text) + "' is not a hexadecimal fingerprint");
    }
    hex += core::ascii_lower(c);
  }
  if (hex.size() != bytes * 2) {
    throw UsageError(std::string(option) + ": a fingerprint of " + std::to_string(bytes) + " bytes (" +
                     std::to_string(bytes * 2) + " hex digits) is expected, not " + std::to_string(hex.size()) +
                     " digits");
  }
  return hex;
}

CheckOptions parse_check_options(const std::vector<std::string>& args) {
  CheckOptions o;
  o.probe.ca_file = kDefaultCaFile;
  o.probe.helo = core::host_name();
  std::optional<std::string> target;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg.rfind("--", 0) == 0) {
      const std::optional<std::string> value = take_option_value(args, i, arg);
      if (arg == "--ca") {
        o.probe.ca_file = *value;
      } else if (arg == "--org") {
        o.organization = *value;
      } else if (arg == "--sha1") {
        o.sha1 = normalize_fingerprint(*value, 20, "--sha1");
      } else if (arg == "--sha256") {
        o.sha256 = normalize_fingerprint(*value, 32, "--sha256");
      } else if (arg == "--match") {
        o.probe.match = *value;
      } else if (arg == "--cert") {
        o.probe.cert_file = *value;
      } else if (arg == "--key") {
        o.probe.key_file = *value;
      } else if (arg == "--helo") {
        o.probe.helo = *value;
      } else if (arg == "--timeout") {
        o.probe.timeout = std::chrono::seconds(parse_number(*value, 1, 3600, "--timeout"));
      } else {
        throw UsageError("unknown option " + arg);
      }
    } else if (!target) {
      target = arg;
    } else {
      throw UsageError("more than one HOST given: '" + *target + "' and '" + arg + "'");
    }
  }
  if (!target) throw UsageError("HOST is missing");
  parse_target(*target, o.probe);
  if (o.probe.cert_file.empty() != o.probe.key_file.empty()) {
    throw UsageError("--cert and --key go together");
  }
  if (o.organization.empty()) throw UsageError("--org must not be empty");
  if (o.probe.helo.empty() || o.probe.helo.find_first_of(" \t\r\n") != std::string::npos) {
    throw UsageError("--helo must be one word");
  }
  return o;
}

int report(const CheckOptions& o, const ProbeResult& p, std::ostream& out) {
  Report r(out);
  out << "checking " << o.probe.host << " port " << o.probe.port << "\n";
  // The conversation, step by step, up to where it stopped.
  const bool connected = !p.peer.empty();
  r.check(connected, "connect", p.peer, p.failure);
  if (connected) {
    const bool greeted = p.greeting.rfind("220", 0) == 0;
    r.check(greeted, "greeting", p.greeting, p.greeting.empty() ? p.failure : p.greeting);
    if (greeted) {
      r.check(p.starttls_offered, "starttls", "offered", p.failure);
      if (p.starttls_offered) {
        const bool secured = !p.tls_version.empty();
        r.check(secured, "tls", p.tls_version + ", " + p.cipher, p.failure);
      }
    }
  }
  if (p.chain.empty()) {
    // A conversation that stopped before TLS has been reported above.
    if (p.starttls_offered) r.line(Mark::fail, "certificate", "none received, nothing to check");
    return r.finish();
  }
  print_chain(p.chain, out);
  const CertInfo& leaf = p.chain.front();
  const bool org = std::find(leaf.organizations.begin(), leaf.organizations.end(), o.organization) !=
                   leaf.organizations.end();
  std::string orgs;
  for (const auto& name : leaf.organizations) orgs += (orgs.empty() ? "" : ", ") + ("O=" + name);
  r.check(org, "organisation", "O=" + o.organization,
          "expected O=" + o.organization + ", the certificate has " + (orgs.empty() ? "no O=" : orgs));
  r.check(!p.chain_error, "chain", "verified against " + o.probe.ca_file,
          "not verified against " + o.probe.ca_file + ": " + p.chain_error.value_or(""));
  const std::string& match = o.probe.match.empty() ? o.probe.host : o.probe.match;
  r.check(p.name_matches, "name", "valid for " + match, "not valid for " + match);
  pin(r, "sha1", o.sha1, leaf.sha1);
  pin(r, "sha256", o.sha256, leaf.sha256);

  const bool accepted = p.ehlo_after_tls.rfind("250", 0) == 0;
  if (o.probe.cert_file.empty()) {
    if (p.client_cert_requested) {
      r.line(Mark::skip, "client certificate",
             "the server asks for one; give --cert and --key to test mutual TLS");
    } else {
      r.line(Mark::note, "client certificate", "the server did not ask for one");
    }
  } else if (!p.tls_version.empty()) {
    if (!p.client_cert_requested) {
      r.line(Mark::fail, "client certificate", "the server did not ask for one, so it was not sent");
    } else {
      r.check(accepted, "client certificate", "sent and accepted (EHLO over TLS: " + p.ehlo_after_tls + ")",
              "sent but not accepted: " + (p.failure.empty() ? p.ehlo_after_tls : p.failure));
    }
  }
  return r.finish();
}

int check_connection(const CheckOptions& o, std::ostream& out, std::ostream& err) {
  ProbeResult p;
  try {
    p = probe(o.probe);
  } catch (const std::exception& e) {
    err << "posternctl incamail check-connection: " << e.what() << "\n";
    return kExitError;
  }
  return report(o, p, out);
}

void add_incamail_commands(Dispatcher& d) {
  d.add({.area = "incamail",
         .name = "check-connection",
         .synopsis = kSynopsis,
         .summary = "STARTTLS to the IncaMail platform: show its chain, check organisation, CA, name and pins",
         .help = kHelp,
         .run = [](const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
           return check_connection(parse_check_options(args), out, err);
         }});
}

}  // namespace postern::ctl
