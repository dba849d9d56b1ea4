#include "postern/ldap/connection.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "postern/core/error.hpp"
#include "postern/core/strings.hpp"
#include "postern/ldap/password.hpp"

namespace postern::ldap {
namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// Time left until `deadline`, capped by `cap`; nullopt when none is left.
std::optional<timeval> time_left(Deadline deadline, milliseconds cap = milliseconds::max()) {
  auto left = duration_cast<microseconds>(deadline - std::chrono::steady_clock::now());
  left = std::min<microseconds>(left, duration_cast<microseconds>(std::min(cap, milliseconds(86400000))));
  if (left < microseconds(1000)) {
    return std::nullopt;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(left.count() / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(left.count() % 1000000);
  return tv;
}

Error out_of_time(std::string_view what) {
  return Error{Error::Kind::timeout, "ldap: " + std::string(what) + ": timed out"};
}

bool set_timeouts(LDAP* ld, Deadline deadline, milliseconds connect_cap) {
  const auto net = time_left(deadline, connect_cap);
  const auto op = time_left(deadline);
  if (!net || !op) {
    return false;
  }
  return ::ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &*net) == LDAP_OPT_SUCCESS &&
         ::ldap_set_option(ld, LDAP_OPT_TIMEOUT, &*op) == LDAP_OPT_SUCCESS;
}

int on_connect(LDAP*, Sockbuf* sb, LDAPURLDesc*, sockaddr*, ldap_conncb* cb) {
  ber_socket_t fd = -1;
  if (::ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) == 1) {
    static_cast<std::atomic<int>*>(cb->lc_arg)->store(fd);
  }
  return 0;
}

void on_close(LDAP*, Sockbuf*, ldap_conncb* cb) { static_cast<std::atomic<int>*>(cb->lc_arg)->store(-1); }

// Shuts the watched socket down if the deadline passes before the
// watchdog goes away, so a blocking read inside libldap returns.
class Watchdog {
 public:
  Watchdog(const std::atomic<int>& fd, Deadline deadline) : thread_([this, &fd, deadline] {
    std::unique_lock lock(mutex_);
    if (!done_cv_.wait_until(lock, deadline, [this] { return done_; })) {
      fired_ = true;
      if (const int s = fd.load(); s >= 0) {
        ::shutdown(s, SHUT_RDWR);
      }
    }
  }) {}
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  ~Watchdog() { stop(); }

  // Stops watching; true when the deadline had passed and the socket was shut.
  bool stop() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_one();
    if (thread_.joinable()) {
      thread_.join();
    }
    return fired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

}  // namespace

Error error_from(int rc, std::string_view what) {
  Error e;
  switch (rc) {
    case LDAP_SERVER_DOWN:
    case LDAP_CONNECT_ERROR:
    case LDAP_UNAVAILABLE:
    case LDAP_BUSY:
      e.kind = Error::Kind::down;
      break;
    case LDAP_TIMEOUT:
    case LDAP_TIMELIMIT_EXCEEDED:
      e.kind = Error::Kind::timeout;
      break;
    case LDAP_INVALID_CREDENTIALS:
    case LDAP_INAPPROPRIATE_AUTH:
    case LDAP_STRONG_AUTH_REQUIRED:
    case LDAP_INSUFFICIENT_ACCESS:
      e.kind = Error::Kind::credentials;
      break;
    case LDAP_NO_SUCH_OBJECT:
      e.kind = Error::Kind::no_such_object;
      break;
    default:
      e.kind = Error::Kind::other;
  }
  e.reason = "ldap: " + std::string(what) + ": " + ::ldap_err2string(rc);
  return e;
}

std::vector<std::string> Entry::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [description, vals] : attributes) {
    if (core::iequals(description, name) ||
        (description.size() > name.size() && description[name.size()] == ';' &&
         core::istarts_with(description, name))) {
      out.insert(out.end(), vals.begin(), vals.end());
    }
  }
  return out;
}

Outcome<std::unique_ptr<Connection>> Connection::open(const Settings& settings, Deadline deadline) {
  std::string uris;
  for (const auto& u : settings.uris) {
    uris += (uris.empty() ? "" : " ") + u;
  }
  auto watch = std::make_unique<SocketWatch>();
  watch->callback.lc_add = &on_connect;
  watch->callback.lc_del = &on_close;
  watch->callback.lc_arg = &watch->fd;
  LDAP* raw = nullptr;
  int rc = ::ldap_initialize(&raw, uris.c_str());
  LdapHandle ld(raw);
  if (rc != LDAP_SUCCESS || !ld) {
    return error_from(rc, "bad uris");
  }
  const int version = LDAP_VERSION3;
  const int require = LDAP_OPT_X_TLS_DEMAND;
  const int min_tls = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
  const int new_ctx = 0;
  if (::ldap_set_option(ld.get(), LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
      ::ldap_set_option(ld.get(), LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
      ::ldap_set_option(ld.get(), LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
      ::ldap_set_option(ld.get(), LDAP_OPT_CONNECT_CB, &watch->callback) != LDAP_OPT_SUCCESS ||
      ::ldap_set_option(ld.get(), LDAP_OPT_X_TLS_REQUIRE_CERT, &require) != LDAP_OPT_SUCCESS ||
      ::ldap_set_option(ld.get(), LDAP_OPT_X_TLS_PROTOCOL_MIN, &min_tls) != LDAP_OPT_SUCCESS) {
    return Error{Error::Kind::other, "ldap: cannot set client options"};
  }
  if (!settings.ca_file.empty() &&
      ::ldap_set_option(ld.get(), LDAP_OPT_X_TLS_CACERTFILE, settings.ca_file.c_str()) != LDAP_OPT_SUCCESS) {
    return Error{Error::Kind::tls, "ldap: cannot use ca_file"};
  }
  // A TLS context of this handle's own, built from the options above.
  if (::ldap_set_option(ld.get(), LDAP_OPT_X_TLS_NEWCTX, &new_ctx) != LDAP_OPT_SUCCESS) {
    return Error{Error::Kind::tls, "ldap: cannot create a TLS context (ca_file unreadable?)"};
  }
  if (!set_timeouts(ld.get(), deadline, settings.connect_timeout)) {
    return out_of_time("connect");
  }
  Watchdog watchdog(watch->fd, deadline);
  rc = ::ldap_connect(ld.get());
  if (rc != LDAP_SUCCESS) {
    return watchdog.stop() ? out_of_time("connect") : error_from(rc, "connect");
  }
  if (settings.starttls) {
    if (!set_timeouts(ld.get(), deadline, settings.connect_timeout)) {
      return out_of_time("starttls");
    }
    rc = ::ldap_start_tls_s(ld.get(), nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      if (watchdog.stop()) {
        return out_of_time("starttls");
      }
      Error e = error_from(rc, "starttls");
      if (e.kind == Error::Kind::other || rc == LDAP_CONNECT_ERROR) {
        e.kind = Error::Kind::tls;
      }
      return e;
    }
  }
  if (!settings.bind_dn.empty()) {
    std::optional<Password> password;
    try {
      password.emplace(read_password_file(settings.bind_password_file));
    } catch (const core::ConfigError& e) {
      return Error{Error::Kind::credentials, e.what()};
    }
    if (!set_timeouts(ld.get(), deadline, settings.connect_timeout)) {
      return out_of_time("bind");
    }
    berval cred{static_cast<ber_len_t>(password->size()), password->data()};
    rc = ::ldap_sasl_bind_s(ld.get(), settings.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      return watchdog.stop() ? out_of_time("bind") : error_from(rc, "bind");
    }
  }
  if (watchdog.stop()) {
    return out_of_time("connect");
  }
  return std::unique_ptr<Connection>(new Connection(std::move(watch), std::move(ld)));
}

Outcome<std::vector<Entry>> Connection::search(const std::string& base, int scope, const std::string& filter,
                                               const std::vector<std::string>& attributes, int size_limit,
                                               Deadline deadline) {
  auto left = time_left(deadline);
  if (!left || !set_timeouts(ld_.get(), deadline, milliseconds::max())) {
    return out_of_time("search");
  }
  std::vector<char*> attrs;
  for (const auto& a : attributes) {
    attrs.push_back(const_cast<char*>(a.c_str()));
  }
  attrs.push_back(nullptr);
  LDAPMessage* raw = nullptr;
  const int rc = ::ldap_search_ext_s(ld_.get(), base.c_str(), scope, filter.c_str(),
                                     attributes.empty() ? nullptr : attrs.data(), 0, nullptr, nullptr, &*left,
                                     size_limit, &raw);
  Message res(raw);
  if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
    return error_from(rc, "search");
  }
  std::vector<Entry> entries;
  for (LDAPMessage* e = ::ldap_first_entry(ld_.get(), res.get()); e != nullptr;
       e = ::ldap_next_entry(ld_.get(), e)) {
    Entry entry;
    if (LdapString dn{::ldap_get_dn(ld_.get(), e)}) {
      entry.dn = dn.get();
    }
    BerElement* ber_raw = nullptr;
    LdapString name{::ldap_first_attribute(ld_.get(), e, &ber_raw)};
    const Ber ber(ber_raw);
    for (; name; name.reset(::ldap_next_attribute(ld_.get(), e, ber.get()))) {
      std::vector<std::string> vals;
      if (BerValues values{::ldap_get_values_len(ld_.get(), e, name.get())}) {
        for (berval** v = values.get(); *v != nullptr; ++v) {
          vals.emplace_back((*v)->bv_val, (*v)->bv_len);
        }
      }
      entry.attributes.emplace_back(name.get(), std::move(vals));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace postern::ldap
