// NAME
//   error - the three tiers of failure
// DESCRIPTION
//   1. Broken invariants: POSTERN_ASSERT aborts with file and line.
//   2. Startup and configuration problems: ConfigError, carrying one or more
//      Diagnostic (file:line:column: message), thrown and caught at the top.
//   3. Per-message failures: Failure, a typed value (transient, permanent,
//      policy, protocol, internal) that a milter maps to an SMTP reply through
//      its configuration. Failure is also thrown as MessageError where unwinding
//      is simpler than returning.
// THREADS
//   All types are values; safe to copy between threads.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace postern::core {

[[noreturn]] void assert_fail(const char* expr, const char* file, int line) noexcept;

#define POSTERN_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::postern::core::assert_fail(#expr, __FILE__, __LINE__))

// Where in a file a problem is. line and column count from 1; 0 means unknown.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
};

struct Diagnostic {
  enum class Severity { error, warning };
  Location where;
  std::string message;
  Severity severity = Severity::error;

  // "FILE:LINE:COL: message" (", warning: " for warnings), the form every
  // Postern checker prints.
  std::string to_string() const;
};

// Thrown for configuration and startup problems. Carries every diagnostic
// found, so a check lists all problems at once rather than the first.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diagnostics);
  ConfigError(Location where, std::string message);
  const std::vector<Diagnostic>& diagnostics() const noexcept { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

// The kinds of per-message failure; configuration maps each to a reply.
enum class FailureKind { transient, permanent, policy, protocol, internal };

const char* to_string(FailureKind kind) noexcept;

struct Failure {
  FailureKind kind = FailureKind::internal;
  std::string reason;  // short, lowercase, safe to log: never message content
};

class MessageError : public std::runtime_error {
 public:
  MessageError(FailureKind kind, std::string reason);
  const Failure& failure() const noexcept { return failure_; }

 private:
  Failure failure_;
};

}  // namespace postern::core
