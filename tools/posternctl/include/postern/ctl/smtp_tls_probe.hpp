// NAME
//   smtp_tls_probe - one SMTP STARTTLS session that records what it saw
// SUMMARY
//   ProbeResult r = probe({.host = "mx.example", .port = 25, .ca_file = "/etc/ssl/ca.pem"});
//   for (const CertInfo& c : r.chain) ...
// DESCRIPTION
//   Connects (every address of HOST in turn), reads the greeting, sends
//   EHLO, requires STARTTLS in the answer, sends STARTTLS and does the TLS
//   handshake (TLS 1.2 at least, SNI unless HOST is an address), presenting
//   the client certificate when one is given. The handshake never stops at
//   a bad certificate: the chain is recorded and judged against ca_file
//   afterwards, so a wrong CA still shows what the server sent. Then EHLO
//   over TLS (the answer says whether the server accepted us) and QUIT.
//   Only ca_file is trusted, never the system's CA store.
//   Data the server sends after its 220 to STARTTLS and before the handshake
//   is refused: it would be a command injection (CVE-2011-0411 class).
//   A step that fails ends the probe; failure says which and why, and
//   everything seen up to then stays in the result.
// THREADS
//   Reentrant; each probe has its own connection and TLS context.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace postern::ctl {

struct ProbeOptions {
  std::string host;        // name or address, without brackets
  unsigned port = 25;
  std::string match;       // name or address the certificate must carry; "" = host
  std::string helo = "localhost";
  std::chrono::seconds timeout{30};
  std::string ca_file;     // PEM, the only trusted roots
  std::string cert_file;   // PEM client certificate (and chain), optional
  std::string key_file;    // its key
};

struct CertInfo {
  std::string subject;   // RFC 2253
  std::string issuer;
  std::string not_before;
  std::string not_after;
  std::vector<std::string> organizations;  // subject O= values
  std::string sha1;      // AA:BB:... as "openssl x509 -fingerprint" prints it
  std::string sha256;
};

struct ProbeResult {
  std::string peer;                     // "192.0.2.1:25" once connected
  std::string greeting;                 // the 220 line
  bool starttls_offered = false;
  std::string tls_version;              // "TLSv1.3"; empty before the handshake
  std::string cipher;
  std::vector<CertInfo> chain;          // as the server sent it, leaf first
  std::optional<std::string> chain_error;  // nullopt: verified against ca_file
  bool name_matches = false;            // leaf carries ProbeOptions::match
  bool client_cert_requested = false;   // the server sent a CertificateRequest
  std::string ehlo_after_tls;           // the first line of the answer; empty if none
  std::string failure;                  // empty: every step completed
};

// Throws std::runtime_error only for local problems (CA file, client
// certificate or key unreadable); what happens on the wire is in the result.
ProbeResult probe(const ProbeOptions& options);

}  // namespace postern::ctl
