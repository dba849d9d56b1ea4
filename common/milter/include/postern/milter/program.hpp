// NAME
//   program - the common main of every Postern milter
// SUMMARY
//   int main(int argc, char** argv) {
//     return postern::milter::run(argc, argv, incamail::program());
//   }
// DESCRIPTION
//   Options:
//     -c FILE      configuration file (default /etc/postern/<short name>.yaml)
//     -n           check the configuration, print FILE:LINE:COL: message for
//                  each problem, exit 0 (good) or 1
//     -f           foreground: do not detach, log to stderr
//     --reference  print the generated configuration reference (Markdown)
//     -V, -h       version, usage
//   Every milter's schema gets the common keys of declare_common_keys (the
//   milter socket, timeouts, on_internal_error, log level) beside its own.
//   Signals: libmilter owns SIGHUP/SIGTERM/SIGINT (stop). SIGUSR1 reloads: the
//   new configuration is loaded, validated and built into a new Filter aside;
//   only then is it swapped in as the snapshot new connections get. A bad one
//   is logged and the old one kept. Changing the milter socket needs a restart
//   (logged as a warning on reload).
// DIAGNOSTICS
//   Startup failures print one line and exit 1 (EX_CONFIG 78 for a bad config).
// THREADS
//   run() owns the process: libmilter's worker threads, its signal thread, and
//   one reload thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "postern/config/config.hpp"
#include "postern/config/schema.hpp"
#include "postern/milter/filter.hpp"

namespace postern::milter {

struct Program {
  std::string name;           // "postern-incamail": log tag and milter name
  std::string short_name;     // "incamail": default config file name
  const config::Schema* schema = nullptr;
  // Builds an immutable filter from a validated config. Throws
  // core::ConfigError for problems only visible when building (files that do
  // not exist, keys that contradict each other).
  std::function<std::shared_ptr<const Filter>(std::shared_ptr<const config::Config>)> build;
};

// Adds the "milter" and "log" sections every Postern milter has.
// default_socket: e.g. "inet:10027@127.0.0.1".
void declare_common_keys(config::Schema& schema, const std::string& default_socket);

// What the framework does when a callback throws or a library call fails.
enum class OnError { tempfail, accept, reject };
OnError parse_on_error(const std::string& text);

int run(int argc, char** argv, const Program& program);

}  // namespace postern::milter
