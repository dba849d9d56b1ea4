#include "postern/testing/responders.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "postern/core/fd.hpp"

extern char** environ;

namespace postern::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool require_all() {
  const char* v = std::getenv("POSTERN_REQUIRE_ALL");
  return v != nullptr && std::string(v) == "1";
}

std::string find_tool(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int free_port() {
  core::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind");
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

bool accepts_connections(int port) {
  core::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

Process::Process(const std::vector<std::string>& argv, const fs::path& dir, const std::string& name)
    : out_(dir / (name + ".out")), err_(dir / (name + ".err")) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0]);
}

Process::~Process() { stop(); }

void Process::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(20ms);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool Process::running() { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }

std::string Process::err() const { return read_text(err_); }

std::string serial_hex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out(hex);
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string ocsp_index(const std::vector<std::pair<const Issued*, bool>>& certificates) {
  std::string out;
  int n = 0;
  for (const auto& [cert, revoked] : certificates) {
    const std::string name = "/CN=cert" + std::to_string(++n);
    out += revoked ? "R\t351231235959Z\t251124000000Z,keyCompromise\t" : "V\t351231235959Z\t\t";
    out += serial_hex(cert->cert.get()) + "\tunknown\t" + name + "\n";
  }
  return out;
}

namespace {

// Until `ready` shows on the server's stderr, or (ready empty) it accepts a
// connection.
void wait_for(int port, Process& p, const std::string& ready) {
  for (int i = 0; i < 250; ++i) {
    if (ready.empty() ? accepts_connections(port) : p.err().find(ready) != std::string::npos) return;
    if (!p.running()) break;
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error("server on port " + std::to_string(port) + " did not start: " + p.err());
}

}  // namespace

std::unique_ptr<Process> start_ocsp_responder(const OcspOptions& o) {
  write_file(o.dir / "index.txt.attr", "unique_subject = no\n");
  std::vector<std::string> argv = {o.openssl,      "ocsp",
                                   "-index",       (o.dir / "index.txt").string(),
                                   "-port",        std::to_string(o.port),
                                   "-rsigner",     (o.dir / o.signer_pem).string(),
                                   "-rkey",        (o.dir / o.key_pem).string(),
                                   "-CA",          (o.dir / o.ca_pem).string(),
                                   "-ignore_err"};
  argv.insert(argv.end(), o.extra.begin(), o.extra.end());
  auto p = std::make_unique<Process>(argv, o.dir, "ocsp");
  wait_for(o.port, *p, "waiting for OCSP client connections");
  return p;
}

std::unique_ptr<Process> start_http_server(const std::string& python, const fs::path& www, int port,
                                           const fs::path& dir) {
  std::vector<std::string> argv = {python,  "-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory",
                                   www.string(), std::to_string(port)};
  auto p = std::make_unique<Process>(argv, dir, "http");
  wait_for(port, *p, {});
  return p;
}

}  // namespace postern::testing
