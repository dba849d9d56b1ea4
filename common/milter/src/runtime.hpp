// NAME
//   runtime - the snapshot that new connections pin, and the libmilter driver
// DESCRIPTION
//   Internal to common/milter. program.cpp loads and builds snapshots;
//   libmilter.cpp (the only file that includes libmilter) hands each new
//   connection the current one. A snapshot is immutable; swapping it is one
//   pointer exchange under a mutex, so a reload never changes a connection
//   that already started.
// THREADS
//   Runtime is shared by all threads; current()/replace() are safe anywhere.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "postern/config/config.hpp"
#include "postern/milter/filter.hpp"
#include "postern/milter/program.hpp"

namespace postern::milter::detail {

struct Snapshot {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const Filter> filter;
  OnError on_error = OnError::tempfail;
};

class Runtime {
 public:
  std::shared_ptr<const Snapshot> current() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  void replace(std::shared_ptr<const Snapshot> next) {
    std::lock_guard lock(mu_);
    current_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> current_;
};

// Registers the filter with libmilter and opens the socket. Throws
// std::runtime_error with a message fit for the admin.
void libmilter_setup(const std::string& name, Runtime& runtime, const std::string& socket,
                     int timeout_seconds, int backlog);
// Runs until SIGTERM/SIGINT/SIGHUP (or libmilter_stop). Returns libmilter's result.
int libmilter_run();
void libmilter_stop() noexcept;

}  // namespace postern::milter::detail
