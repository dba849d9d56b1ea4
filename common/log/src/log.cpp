#include "postern/log/log.hpp"

#include <syslog.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace postern::log {
namespace {

struct State {
  std::mutex mu;
  std::string program = "postern";
  Sink sink = Sink::stderr_stream;
  CaptureFn capture = nullptr;
  void* capture_user = nullptr;
};

State& state() {
  static State s;
  return s;
}

std::atomic<int> g_min_level{static_cast<int>(Level::info)};

int syslog_priority(Level level) {
  switch (level) {
    case Level::debug: return LOG_DEBUG;
    case Level::info: return LOG_INFO;
    case Level::warning: return LOG_WARNING;
    case Level::error: return LOG_ERR;
  }
  return LOG_INFO;
}

const char* level_prefix(Level level) {
  // Postfix writes "warning: " and "error: " after the program name; we do the
  // same so `grep warning:` finds ours beside Postfix's.
  switch (level) {
    case Level::warning: return "warning: ";
    case Level::error: return "error: ";
    default: return "";
  }
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) {
    return true;
  }
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\') {
      return true;
    }
  }
  return false;
}

}  // namespace

void init(std::string_view program, Sink sink, Level min_level) {
  auto& s = state();
  std::lock_guard lock(s.mu);
  s.program = std::string(program);
  s.sink = sink;
  g_min_level = static_cast<int>(min_level);
  if (sink == Sink::syslog) {
    // openlog keeps the pointer: s.program lives as long as the process.
    openlog(s.program.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
  }
}

void set_min_level(Level level) noexcept { g_min_level = static_cast<int>(level); }

Level parse_level(std::string_view name) {
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warning") return Level::warning;
  if (name == "error") return Level::error;
  throw std::invalid_argument("unknown log level '" + std::string(name) + "'");
}

std::string_view program_name() noexcept {
  // The name is set once at start-up, before any thread logs.
  return state().program;
}

std::string escape_value(std::string_view value) {
  std::string out;
  bool quote = needs_quotes(value);
  if (quote) {
    out += '"';
  }
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (quote) {
    out += '"';
  }
  return out;
}

namespace {

// The level word goes in while the line is built: a queue id that holds ": "
// must not decide where it lands.
std::string compose(std::string_view level_word, std::string_view queue_id, std::string_view event,
                    std::initializer_list<Field> fields) {
  std::string line = queue_id.empty() ? std::string("NOQUEUE") : escape_value(queue_id);
  line += ": ";
  line += program_name();
  line += ": ";
  line += level_word;
  line += escape_value(event);
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    line += escape_value(f.value);
  }
  return line;
}

}  // namespace

std::string format(std::string_view queue_id, std::string_view event,
                   std::initializer_list<Field> fields) {
  return compose("", queue_id, event, fields);
}

void write(Level level, std::string_view queue_id, std::string_view event,
           std::initializer_list<Field> fields) noexcept {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) {
    return;
  }
  try {
    std::string line = compose(level_prefix(level), queue_id, event, fields);
    auto& s = state();
    std::lock_guard lock(s.mu);
    if (s.capture != nullptr) {
      s.capture(level, line, s.capture_user);
      return;
    }
    switch (s.sink) {
      case Sink::syslog:
        ::syslog(syslog_priority(level), "%s", line.c_str());
        break;
      case Sink::stderr_stream:
        std::fprintf(stderr, "%s\n", line.c_str());
        std::fflush(stderr);
        break;
      case Sink::none:
        break;
    }
  } catch (...) {
    // Logging must never take a milter down; out of memory here loses a line.
  }
}

void set_capture(CaptureFn fn, void* user) noexcept {
  auto& s = state();
  std::lock_guard lock(s.mu);
  s.capture = fn;
  s.capture_user = user;
}

}  // namespace postern::log
