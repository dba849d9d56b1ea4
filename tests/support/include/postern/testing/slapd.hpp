// NAME
//   slapd - a real, private OpenLDAP server on loopback for tests
// SUMMARY
//   if (auto why = Slapd::unavailable(); !why.empty()) GTEST_SKIP() << why;
//   Slapd slapd;                                   // tests/data/ldap/directory.ldif loaded
//   ASSERT_TRUE(slapd.started()) << slapd.why();
//   settings.uris = {slapd.uri()};                 // ldap://127.0.0.1:PORT
//   slapd.stop(); ... slapd.restart();             // directory down, then back
// DESCRIPTION
//   In a fresh directory under the system's temporary directory: makes a
//   test CA and a server certificate for 127.0.0.1 with the openssl CLI,
//   builds cn=config with slapadd -n0 from tests/data/ldap/slapd-config.ldif.in
//   (mdb backend, suffix dc=example,dc=org, rootdn cn=admin,dc=example,dc=org,
//   the memberof overlay; schemas core, cosine, inetorgperson, nis), starts
//   /usr/sbin/slapd in the foreground on two free loopback ports (ldap://
//   with StartTLS, and ldaps://), waits until it accepts connections, and
//   loads the LDIF files with ldapadd (so overlays see the entries).
//   stop() ends slapd (SIGTERM, then SIGKILL after 5 s); restart() starts it
//   again on the same ports with the same data. The destructor stops it and
//   removes the directory. Only the process the fixture started is signalled.
//   The package's own slapd service is not used and need not run.
// THREADS
//   One test thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace postern::testing {

struct SlapdOptions {
  // Loaded in order after the first start; empty: tests/data/ldap/directory.ldif.
  std::vector<std::string> ldif_files;
  std::string root_password = "postern-root-secret";
};

class Slapd {
 public:
  static constexpr const char* kBaseDn = "dc=example,dc=org";
  static constexpr const char* kRootDn = "cn=admin,dc=example,dc=org";
  // The service account in directory.ldif.
  static constexpr const char* kBindDn = "cn=postern,ou=services,dc=example,dc=org";
  static constexpr const char* kBindPassword = "postern-bind-secret";

  // Why a slapd cannot be run here ("" when it can): a missing program.
  static std::string unavailable();

  explicit Slapd(SlapdOptions options = {});
  ~Slapd();
  Slapd(const Slapd&) = delete;
  Slapd& operator=(const Slapd&) = delete;

  bool started() const noexcept { return running(); }
  const std::string& why() const noexcept { return why_; }
  std::string uri() const;        // ldap://127.0.0.1:PORT
  std::string ldaps_uri() const;  // ldaps://127.0.0.1:PORT
  std::uint16_t port() const noexcept { return port_; }
  std::uint16_t ldaps_port() const noexcept { return ldaps_port_; }
  std::string ca_file() const;  // PEM of the CA that signed the server certificate
  const std::filesystem::path& dir() const noexcept { return dir_; }
  const std::string& root_password() const noexcept { return options_.root_password; }
  std::string log() const;  // what slapd and the tools printed

  bool stop();
  bool restart();

 private:
  bool running() const noexcept { return pid_ > 0; }
  bool prepare();
  bool launch();
  bool load(const std::string& ldif);
  bool fail(std::string why);

  SlapdOptions options_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::uint16_t ldaps_port_ = 0;
  pid_t pid_ = -1;
  std::string why_;
};

}  // namespace postern::testing
