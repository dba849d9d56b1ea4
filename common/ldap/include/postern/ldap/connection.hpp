// NAME
//   connection - one open, bound connection to the directory
// SUMMARY
//   auto c = Connection::open(settings, deadline);       // Outcome<unique_ptr<Connection>>
//   auto r = (*c)->search(base, LDAP_SCOPE_SUBTREE, filter, {"mail"}, 2, deadline);
// DESCRIPTION
//   open() initialises libldap with every URI (tried in order), LDAPv3, no
//   referral chasing, TLS 1.2 or later with the certificate checked against
//   ca_file (or the system's CAs), connects within min(connect_timeout,
//   deadline), runs StartTLS when asked, and binds simply with bind_dn and
//   the password file's first line (read now, wiped after the bind).
//   search() returns the entries, all values of each attribute (binary
//   values as raw bytes), and never waits past the deadline: both the
//   client-side wait and LDAP_OPT_TIMEOUT are set to the time left.
//   An Error says what failed in a short phrase safe to log; its kind tells
//   the pool whether the connection is broken (everything but no_such_object
//   is treated as broken) and the directory whether a retry on a fresh
//   connection may help (down).
// THREADS
//   One thread at a time per Connection.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "postern/ldap/handles.hpp"
#include "postern/ldap/settings.hpp"

namespace postern::ldap {

using Deadline = std::chrono::steady_clock::time_point;

struct Error {
  enum class Kind { down, timeout, credentials, tls, no_such_object, other };
  Kind kind = Kind::other;
  std::string reason;  // short, safe to log: no passwords, no values looked up
};

template <typename T>
using Outcome = std::variant<T, Error>;

struct Entry {
  std::string dn;
  std::vector<std::pair<std::string, std::vector<std::string>>> attributes;  // description, values

  // Values of every attribute whose description is `name` or `name;options`
  // (case-insensitive).
  std::vector<std::string> values(std::string_view name) const;
};

class Connection {
 public:
  static Outcome<std::unique_ptr<Connection>> open(const Settings& settings, Deadline deadline);

  Outcome<std::vector<Entry>> search(const std::string& base, int scope, const std::string& filter,
                                     const std::vector<std::string>& attributes, int size_limit,
                                     Deadline deadline);

 private:
  // The socket of each new connection (LDAP_OPT_CONNECT_CB), so that a
  // watchdog can shut it down at the deadline: libldap bounds the TCP
  // connect and its waits for replies, but not a TLS handshake (ldaps://)
  // that a silent server never answers.
  struct SocketWatch {
    ldap_conncb callback{};
    std::atomic<int> fd{-1};
  };
  Connection(std::unique_ptr<SocketWatch> watch, LdapHandle ld) : watch_(std::move(watch)), ld_(std::move(ld)) {}
  std::unique_ptr<SocketWatch> watch_;  // outlives ld_ (declared first)
  LdapHandle ld_;
};

// "ldap: " + what + ": " + ldap_err2string(rc), and the matching kind.
Error error_from(int rc, std::string_view what);

}  // namespace postern::ldap
