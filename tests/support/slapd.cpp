#include "postern/testing/slapd.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace postern::testing {
namespace {

constexpr const char* kSlapd = "/usr/sbin/slapd";
constexpr const char* kSlapadd = "/usr/sbin/slapadd";
constexpr const char* kLdapadd = "/usr/bin/ldapadd";
constexpr const char* kOpenssl = "/usr/bin/openssl";

// A TCP port on 127.0.0.1 that was free a moment ago. `keep` holds the
// socket open so a second call picks another port.
std::uint16_t free_port(int& keep) {
  keep = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (keep < 0 || ::bind(keep, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(keep, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    return 0;
  }
  return ntohs(sa.sin_port);
}

bool accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  if (fd >= 0) {
    ::close(fd);
  }
  return ok;
}

// Starts argv[0] with stdout and stderr appended to `log`; returns its pid.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int null = ::open("/dev/null", O_RDONLY);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (null >= 0) {
      ::dup2(null, 0);
    }
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

bool run(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  const pid_t pid = spawn(argv, log);
  if (pid < 0) {
    return false;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

std::string Slapd::unavailable() {
  for (const char* program : {kSlapd, kSlapadd, kLdapadd, kOpenssl}) {
    if (::access(program, X_OK) != 0) {
      return std::string(program) + " is missing (apt-get install slapd ldap-utils openssl)";
    }
  }
  if (!std::filesystem::exists("/usr/lib/ldap/back_mdb.so") && !std::filesystem::exists("/usr/lib/ldap/back_mdb.la")) {
    return "slapd's mdb backend module is missing";
  }
  return "";
}

Slapd::Slapd(SlapdOptions options) : options_(std::move(options)) {
  if (options_.ldif_files.empty()) {
    options_.ldif_files.push_back(std::string(POSTERN_SOURCE_DIR) + "/tests/data/ldap/directory.ldif");
  }
  if (const auto missing = unavailable(); !missing.empty()) {
    why_ = missing;
    return;
  }
  if (!prepare() || !launch()) {
    return;
  }
  for (const auto& ldif : options_.ldif_files) {
    if (!load(ldif)) {
      stop();
      return;
    }
  }
}

Slapd::~Slapd() {
  stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string Slapd::uri() const { return "ldap://127.0.0.1:" + std::to_string(port_); }
std::string Slapd::ldaps_uri() const { return "ldaps://127.0.0.1:" + std::to_string(ldaps_port_); }
std::string Slapd::ca_file() const { return (dir_ / "tls" / "ca.pem").string(); }

std::string Slapd::log() const {
  std::ostringstream out;
  out << std::ifstream(dir_ / "slapd.log").rdbuf();
  return out.str();
}

bool Slapd::fail(std::string why) {
  why_ = std::move(why) + " (see " + (dir_ / "slapd.log").string() + ")";
  return false;
}

bool Slapd::prepare() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "postern-slapd-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    why_ = "mkdtemp failed";
    return false;
  }
  dir_ = tmpl;
  const auto tls = dir_ / "tls";
  std::filesystem::create_directories(tls);
  std::filesystem::create_directories(dir_ / "db");
  std::filesystem::create_directories(dir_ / "slapd.d");
  const auto log = dir_ / "slapd.log";
  std::ofstream(tls / "server.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                    << "basicConstraints=critical,CA:FALSE\n"
                                    << "keyUsage=critical,digitalSignature\n"
                                    << "extendedKeyUsage=serverAuth\n";
  const std::string t = tls.string();
  if (!run({kOpenssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            t + "/ca.key", "-out", t + "/ca.pem", "-days", "2", "-subj", "/O=Postern Test/CN=Postern Test LDAP CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
           log) ||
      !run({kOpenssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            t + "/server.key", "-out", t + "/server.csr", "-subj", "/O=Postern Test/CN=127.0.0.1"},
           log) ||
      !run({kOpenssl, "x509", "-req", "-in", t + "/server.csr", "-CA", t + "/ca.pem", "-CAkey", t + "/ca.key",
            "-CAcreateserial", "-days", "2", "-out", t + "/server.pem", "-extfile", t + "/server.ext"},
           log)) {
    return fail("openssl could not make the test certificates");
  }
  std::ifstream in(std::string(POSTERN_SOURCE_DIR) + "/tests/data/ldap/slapd-config.ldif.in");
  if (!in) {
    return fail("tests/data/ldap/slapd-config.ldif.in is missing");
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::ofstream(dir_ / "config.ldif")
      << replace_all(replace_all(text.str(), "@DIR@", dir_.string()), "@ROOTPW@", options_.root_password);
  if (!run({kSlapadd, "-n0", "-F", (dir_ / "slapd.d").string(), "-l", (dir_ / "config.ldif").string()}, log)) {
    return fail("slapadd -n0 refused the configuration");
  }
  int keep1 = -1;
  int keep2 = -1;
  port_ = free_port(keep1);
  ldaps_port_ = free_port(keep2);
  ::close(keep1);
  ::close(keep2);
  if (port_ == 0 || ldaps_port_ == 0) {
    return fail("no free loopback port");
  }
  return true;
}

bool Slapd::launch() {
  const std::string urls = uri() + "/ " + ldaps_uri() + "/";
  pid_ = spawn({kSlapd, "-d", "0", "-h", urls, "-F", (dir_ / "slapd.d").string()}, dir_ / "slapd.log");
  if (pid_ < 0) {
    return fail("fork failed");
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    if (accepts(port_) && accepts(ldaps_port_)) {
      return true;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return fail("slapd exited at start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
  return fail("slapd did not listen within 10 s");
}

bool Slapd::load(const std::string& ldif) {
  if (!run({kLdapadd, "-x", "-H", uri(), "-D", kRootDn, "-w", options_.root_password, "-f", ldif},
           dir_ / "slapd.log")) {
    return fail("ldapadd could not load " + ldif);
  }
  return true;
}

bool Slapd::stop() {
  if (pid_ <= 0) {
    return true;
  }
  ::kill(pid_, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > until) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return true;
}

bool Slapd::restart() {
  stop();
  why_.clear();
  return launch();
}

}  // namespace postern::testing
