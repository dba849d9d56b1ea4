#include "postern/milter/program.hpp"

#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "postern/core/error.hpp"
#include "postern/core/net.hpp"
#include "postern/log/log.hpp"
#include "runtime.hpp"

namespace postern::milter {

namespace {

constexpr const char* kVersion = "0.1.0";

struct Options {
  std::string config_path;
  bool check_only = false;
  bool foreground = false;
  bool reference = false;
};

void usage(const Program& p, std::FILE* out) {
  std::fprintf(out,
               "usage: %s [-f] [-n] [-c FILE] [--reference]\n"
               "  -c FILE      configuration file (default /etc/postern/%s.yaml)\n"
               "  -n           check the configuration and exit (0: good, 1: problems)\n"
               "  -f           stay in the foreground and log to stderr\n"
               "  --reference  print the configuration reference (Markdown)\n"
               "  -V           print the version\n"
               "signals: SIGUSR1 reloads the configuration, SIGTERM stops\n",
               p.name.c_str(), p.short_name.c_str());
}

void validate_socket(const config::Config& cfg) {
  const std::string& s = cfg.get_string("milter.socket");
  if (const auto path = core::unix_socket_path(s); path && !path->empty()) return;
  for (const char* prefix : {"inet:", "inet6:"}) {
    if (s.rfind(prefix, 0) == 0 && s.size() > std::strlen(prefix)) return;
  }
  throw core::ConfigError(cfg.where("milter.socket"),
                          "milter.socket must look like inet:PORT@HOST, inet6:PORT@HOST or unix:/path");
}

void validate_socket_mode(const config::Config& cfg) {
  try {
    core::parse_socket_mode(cfg.get_string("milter.socket_mode"));
  } catch (const std::invalid_argument& e) {
    throw core::ConfigError(cfg.where("milter.socket_mode"), std::string("milter.socket_mode: ") + e.what());
  }
}

// A unix: socket gets milter.socket_mode, milter.socket_group and, when
// privileges are dropped, milter.user as its owner.
void set_socket_access(const config::Config& cfg) {
  const auto path = core::unix_socket_path(cfg.get_string("milter.socket"));
  if (!path) return;
  core::set_socket_access(*path, core::parse_socket_mode(cfg.get_string("milter.socket_mode")),
                          cfg.get_string("milter.user"), cfg.get_string("milter.socket_group"));
}

// The file of a unix: socket as this process made it (device and inode),
// so that a clean stop removes that file and never one a newer instance
// has put in its place. Empty for inet: sockets.
struct SocketFile {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
};

SocketFile socket_file(const std::string& socket) {
  const auto path = core::unix_socket_path(socket);
  struct stat st {};
  if (!path || ::lstat(path->c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return {};
  std::error_code ec;  // absolute: daemon() changes to / before the stop
  const std::filesystem::path absolute = std::filesystem::absolute(*path, ec);
  if (ec) return {};
  return {absolute.string(), st.st_dev, st.st_ino};
}

// libmilter leaves the socket file behind when it stops. A kill -9 leaves it
// too; the next start replaces it either way.
void remove_socket_file(const SocketFile& made) {
  if (made.path.empty()) return;
  struct stat st {};
  if (::lstat(made.path.c_str(), &st) != 0 || st.st_dev != made.dev || st.st_ino != made.ino) return;
  if (::unlink(made.path.c_str()) != 0) {
    log::warning("", "socket-left", {{"socket", made.path}, {"reason", std::strerror(errno)}});
  }
}

// Loads, validates and builds everything a connection needs. Throws
// core::ConfigError (all problems) on failure; nothing global changes.
std::shared_ptr<const detail::Snapshot> build_snapshot(const Program& program, const std::string& path) {
  auto cfg = std::make_shared<const config::Config>(config::load_file(*program.schema, path));
  validate_socket(*cfg);
  validate_socket_mode(*cfg);
  auto snapshot = std::make_shared<detail::Snapshot>();
  snapshot->config = cfg;
  snapshot->on_error = parse_on_error(cfg->get_string("milter.on_internal_error"));
  snapshot->filter = program.build(cfg);
  if (snapshot->filter == nullptr) {
    throw core::ConfigError(core::Location{path, 0, 0}, "filter could not be built");
  }
  return snapshot;
}

void print_diagnostics(const core::ConfigError& e) {
  for (const auto& d : e.diagnostics()) {
    std::fprintf(stderr, "%s\n", d.to_string().c_str());
  }
}

void log_diagnostics(std::string_view event, const core::ConfigError& e) {
  for (const auto& d : e.diagnostics()) {
    log::error("", event, {{"problem", d.to_string()}});
  }
}

void drop_privileges(const std::string& user) {
  if (user.empty()) {
    return;
  }
  errno = 0;
  const passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) {
    throw std::runtime_error("milter.user: no such user '" + user + "'");
  }
  // Any failure here is fatal: running on as root is not an option.
  if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
    throw std::runtime_error("cannot drop privileges to '" + user + "': " + std::strerror(errno));
  }
  if (setuid(0) == 0) {
    throw std::runtime_error("privileges could be regained after dropping them to '" + user + "'");
  }
}

std::optional<Options> parse_options(int argc, char** argv, const Program& program, int& exit_code) {
  Options opt;
  opt.config_path = "/etc/postern/" + program.short_name + ".yaml";
  static const option long_opts[] = {{"reference", no_argument, nullptr, 'R'},
                                     {"help", no_argument, nullptr, 'h'},
                                     {"version", no_argument, nullptr, 'V'},
                                     {nullptr, 0, nullptr, 0}};
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "c:nfhV", long_opts, nullptr)) != -1) {
    switch (c) {
      case 'c': opt.config_path = optarg; break;
      case 'n': opt.check_only = true; break;
      case 'f': opt.foreground = true; break;
      case 'R': opt.reference = true; break;
      case 'V':
        std::printf("%s %s\n", program.name.c_str(), kVersion);
        exit_code = 0;
        return std::nullopt;
      case 'h':
        usage(program, stdout);
        exit_code = 0;
        return std::nullopt;
      default:
        usage(program, stderr);
        exit_code = EX_USAGE;
        return std::nullopt;
    }
  }
  if (optind != argc) {
    usage(program, stderr);
    exit_code = EX_USAGE;
    return std::nullopt;
  }
  return opt;
}

}  // namespace

int run(int argc, char** argv, const Program& program) {
  int exit_code = 0;
  auto parsed = parse_options(argc, argv, program, exit_code);
  if (!parsed) {
    return exit_code;
  }
  const Options& opt = *parsed;
  if (opt.reference) {
    std::fputs(config::reference_markdown(*program.schema).c_str(), stdout);
    return 0;
  }

  log::init(program.name, opt.foreground || opt.check_only ? log::Sink::stderr_stream : log::Sink::syslog);

  std::shared_ptr<const detail::Snapshot> snapshot;
  try {
    snapshot = build_snapshot(program, opt.config_path);
  } catch (const core::ConfigError& e) {
    print_diagnostics(e);
    if (!opt.check_only && !opt.foreground) {
      log_diagnostics("config-error", e);
    }
    return opt.check_only ? 1 : EX_CONFIG;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", opt.config_path.c_str(), e.what());
    return opt.check_only ? 1 : EX_CONFIG;
  }
  if (opt.check_only) {
    std::printf("%s: ok\n", opt.config_path.c_str());
    return 0;
  }
  log::set_min_level(log::parse_level(snapshot->config->get_string("log.level")));

  // SIGUSR1 is taken by our reload thread, SIGHUP/SIGTERM/SIGINT by
  // libmilter's signal thread. Block all four before any thread starts so
  // every thread inherits the mask and only those sigwait() threads receive
  // them. SIGPIPE must not kill us when Postfix drops a connection.
  sigset_t reload_set;
  sigemptyset(&reload_set);
  sigaddset(&reload_set, SIGUSR1);
  sigset_t blocked = reload_set;
  sigaddset(&blocked, SIGHUP);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  signal(SIGPIPE, SIG_IGN);

  detail::Runtime runtime;
  runtime.replace(snapshot);
  const std::string socket = snapshot->config->get_string("milter.socket");
  SocketFile made;
  try {
    detail::libmilter_setup(program.name, runtime, socket,
                            static_cast<int>(snapshot->config->get_duration("milter.timeout").count() / 1000),
                            static_cast<int>(snapshot->config->get_int("milter.backlog")));
    set_socket_access(*snapshot->config);
    made = socket_file(socket);
    drop_privileges(snapshot->config->get_string("milter.user"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program.name.c_str(), e.what());
    log::error("", "startup-failed", {{"reason", e.what()}});
    return EX_UNAVAILABLE;
  }
  if (!opt.foreground && daemon(0, 0) != 0) {
    std::fprintf(stderr, "%s: cannot detach: %s\n", program.name.c_str(), std::strerror(errno));
    return EX_OSERR;
  }

  std::atomic<bool> stopping{false};
  std::thread reloader([&] {
    while (true) {
      int sig = 0;
      if (sigwait(&reload_set, &sig) != 0 || stopping.load()) {
        return;
      }
      try {
        auto next = build_snapshot(program, opt.config_path);
        if (next->config->get_string("milter.socket") != socket) {
          log::warning("", "reload", {{"reason", "milter.socket changed; restart to use the new socket"}});
        }
        log::set_min_level(log::parse_level(next->config->get_string("log.level")));
        runtime.replace(std::move(next));
        log::info("", "reloaded", {{"config", opt.config_path}});
      } catch (const core::ConfigError& e) {
        log_diagnostics("reload-failed", e);
        log::error("", "reload-failed", {{"config", opt.config_path}, {"action", "kept previous configuration"}});
      } catch (const std::exception& e) {
        log::error("", "reload-failed",
                   {{"config", opt.config_path}, {"reason", e.what()}, {"action", "kept previous configuration"}});
      }
    }
  });

  log::info("", "started", {{"socket", socket}, {"config", opt.config_path}, {"version", kVersion}});
  int rc = detail::libmilter_run();
  stopping = true;
  pthread_kill(reloader.native_handle(), SIGUSR1);
  reloader.join();
  remove_socket_file(made);
  log::info("", "stopped", {{"status", rc == 0 ? "ok" : "error"}});
  return rc == 0 ? 0 : 1;
}

}  // namespace postern::milter
