// NAME
//   responders - real revocation servers on loopback for tests: `openssl
//   ocsp` answering from an index file and python3's http.server for CRLs
// SUMMARY
//   if (testing::find_tool("openssl").empty()) ... skip, or fail when testing::require_all()
//   testing::write_file(dir / "index.txt", testing::ocsp_index({{&good, false}, {&revoked, true}}));
//   auto ocsp = testing::start_ocsp_responder({.openssl = openssl, .dir = dir, .port = testing::free_port(),
//                                              .ca_pem = "ca.pem", .signer_pem = "responder.pem",
//                                              .key_pem = "responder.key"});
//   auto http = testing::start_http_server(python, dir / "www", testing::free_port(), dir);
//   ... http->err() is the server's log; both are stopped when destroyed
// DESCRIPTION
//   Process runs a command with stdin from /dev/null and stdout / stderr in
//   DIR/NAME.out and DIR/NAME.err; destroying it sends SIGTERM, then
//   SIGKILL after a second. start_ocsp_responder() returns once openssl
//   says it waits for connections (a probe connection that sends nothing
//   would wedge it); start_http_server() once the port accepts.
//   ocsp_index() writes openssl ca's index.txt lines: valid, or revoked on
//   2025-11-24 for keyCompromise, expiring in 2035. Files named relative
//   in OcspOptions are taken in `dir`.
// DIAGNOSTICS
//   std::runtime_error when a process cannot be started or a server does
//   not come up within five seconds (with its stderr).
// THREADS
//   Not thread-safe; one fixture per test.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "postern/testing/test_pki.hpp"

namespace postern::testing {

// POSTERN_REQUIRE_ALL=1: a missing tool fails the test instead of skipping it.
bool require_all();
// The tool's path from $PATH, or "" when it is not installed.
std::string find_tool(const std::string& name);
// A loopback TCP port nothing listens on right now.
int free_port();
bool accepts_connections(int port);
std::string read_text(const std::filesystem::path& path);

class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::filesystem::path& dir, const std::string& name);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void stop();
  bool running();
  std::string err() const;

 private:
  pid_t pid_ = -1;
  std::filesystem::path out_;
  std::filesystem::path err_;
};

// The certificate's serial number in upper-case hex, as index.txt has it.
std::string serial_hex(X509* cert);
// index.txt for `openssl ocsp -index`: each certificate valid (false) or revoked (true).
std::string ocsp_index(const std::vector<std::pair<const Issued*, bool>>& certificates);

struct OcspOptions {
  std::string openssl;
  std::filesystem::path dir;  // index.txt (and index.txt.attr) are written by the caller here
  int port = 0;
  std::string ca_pem = "ca.pem";  // the issuer of the certificates asked about
  std::string signer_pem = "responder.pem";
  std::string key_pem = "responder.key";
  std::vector<std::string> extra = {"-nmin", "60"};
};
std::unique_ptr<Process> start_ocsp_responder(const OcspOptions& options);
std::unique_ptr<Process> start_http_server(const std::string& python, const std::filesystem::path& www, int port,
                                           const std::filesystem::path& dir);

}  // namespace postern::testing
