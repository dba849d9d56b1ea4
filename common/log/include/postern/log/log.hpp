// NAME
//   log - Postfix-style log lines
// SUMMARY
//   log::info(queue_id, "tagged", {{"type", "c"}, {"rcpt", addr}});
//   -> "4Q2x1B0kzNz: postern-incamail: tagged type=c rcpt=<a@b.ch>"
//   warnings and errors: "NOQUEUE: postern-spf: warning: dns-timeout ..."
// DESCRIPTION
//   One line per decision: the queue id (NOQUEUE before Postfix assigned one),
//   the program name, a lowercase event word, then key=value pairs. Values with
//   spaces, quotes or '=' are double-quoted; control characters and bytes that
//   are not printable ASCII are escaped as \xNN so a line never breaks and never
//   smuggles terminal sequences. Lines go to syslog (facility mail) or, in
//   foreground mode, to stderr.
//   Never pass message bodies or key material: callers log facts (addresses,
//   sizes, results), not content.
// THREADS
//   Safe from any thread; each line is written with one call.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace postern::log {

enum class Level { debug, info, warning, error };
enum class Sink { syslog, stderr_stream, none };

struct Field {
  std::string_view key;
  std::string value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <typename Int, typename = std::enable_if_t<std::is_integral_v<Int>>>
  Field(std::string_view k, Int v) : key(k), value(std::to_string(v)) {}
};

// Set up once at program start (and again to change the sink).
void init(std::string_view program, Sink sink, Level min_level = Level::info);
void set_min_level(Level level) noexcept;
Level parse_level(std::string_view name);  // throws std::invalid_argument
std::string_view program_name() noexcept;

// "QUEUEID: program: event k=v ..." without a trailing newline or level word. An empty
// queue id is written as NOQUEUE.
std::string format(std::string_view queue_id, std::string_view event,
                   std::initializer_list<Field> fields);
// Quote/escape one value as format() does.
std::string escape_value(std::string_view value);

void write(Level level, std::string_view queue_id, std::string_view event,
           std::initializer_list<Field> fields = {}) noexcept;

inline void debug(std::string_view qid, std::string_view event, std::initializer_list<Field> f = {}) noexcept {
  write(Level::debug, qid, event, f);
}
inline void info(std::string_view qid, std::string_view event, std::initializer_list<Field> f = {}) noexcept {
  write(Level::info, qid, event, f);
}
inline void warning(std::string_view qid, std::string_view event, std::initializer_list<Field> f = {}) noexcept {
  write(Level::warning, qid, event, f);
}
inline void error(std::string_view qid, std::string_view event, std::initializer_list<Field> f = {}) noexcept {
  write(Level::error, qid, event, f);
}

// Test hook: capture lines instead of writing them. Pass nullptr to stop.
using CaptureFn = void (*)(Level, const std::string& line, void* user);
void set_capture(CaptureFn fn, void* user) noexcept;

}  // namespace postern::log
