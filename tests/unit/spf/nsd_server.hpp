// NAME
//   nsd_server - a real authoritative DNS server on loopback for tests
// SUMMARY
//   NsdServer dns({{"example.test", zone_text}});
//   ASSERT_TRUE(dns.started()) << dns.why();
//   StubSettings s{{{*IpAddress::parse("127.0.0.1"), dns.port()}}};
// DESCRIPTION
//   Writes an nsd.conf and the zone files into a fresh directory under
//   /tmp, starts Debian's nsd in the foreground on 127.0.0.1 and a free
//   port, and waits until it answers. The destructor stops it (SIGTERM to
//   the one process it started) and removes the directory. Zone text is
//   given without SOA/NS: they are added here.
// THREADS
//   One test thread.
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "postern/spf/stub_resolver.hpp"

namespace postern::spf::testing {

inline std::uint16_t free_udp_port() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

class NsdServer {
 public:
  explicit NsdServer(const std::map<std::string, std::string>& zones) {
    const char* nsd = "/usr/sbin/nsd";
    if (::access(nsd, X_OK) != 0) {
      why_ = "nsd is not installed (apt-get install nsd)";
      return;
    }
    char tmpl[] = "/tmp/postern-nsd-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      why_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    port_ = free_udp_port();
    std::ofstream conf(dir_ / "nsd.conf");
    conf << "server:\n  ip-address: 127.0.0.1@" << port_ << "\n  port: " << port_
         << "\n  username: \"\"\n  chroot: \"\"\n  zonesdir: \"" << dir_.string() << "\"\n  pidfile: \""
         << (dir_ / "nsd.pid").string() << "\"\n  database: \"\"\n  zonelistfile: \"" << (dir_ / "zone.list").string()
         << "\"\n  xfrdfile: \"" << (dir_ / "xfrd.state").string() << "\"\n  xfrdir: \"" << dir_.string()
         << "\"\n  logfile: \"" << (dir_ / "nsd.log").string()
         << "\"\n  server-count: 1\n  verbosity: 0\n  rrl-ratelimit: 0\nremote-control:\n  control-enable: no\n";
    for (const auto& [name, text] : zones) {
      conf << "zone:\n  name: \"" << name << "\"\n  zonefile: \"" << name << ".zone\"\n";
      std::ofstream zone(dir_ / (name + ".zone"));
      zone << "$ORIGIN " << name << ".\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\n"
           << "ns IN A 127.0.0.1\n"
           << text << "\n";
    }
    conf.close();
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string c = (dir_ / "nsd.conf").string();
      ::execl(nsd, "nsd", "-d", "-c", c.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready when the SOA of the first zone answers.
    StubResolver probe({{{*core::IpAddress::parse("127.0.0.1"), port_}}, std::chrono::seconds(1), 1, 0});
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
      const auto a = probe.lookup("ns." + zones.begin()->first, DnsType::a,
                                  std::chrono::steady_clock::now() + std::chrono::seconds(2));
      if (a.status == DnsStatus::found) {
        started_ = true;
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        why_ = "nsd exited; see " + (dir_ / "nsd.log").string();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    why_ = "nsd did not answer within 10 s";
  }
  ~NsdServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  NsdServer(const NsdServer&) = delete;
  NsdServer& operator=(const NsdServer&) = delete;

  bool started() const { return started_; }
  const std::string& why() const { return why_; }
  std::uint16_t port() const { return port_; }

 private:
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool started_ = false;
  std::string why_;
};

}  // namespace postern::spf::testing
