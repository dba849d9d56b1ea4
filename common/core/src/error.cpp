#include "postern/core/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace postern::core {

void assert_fail(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "postern: assertion failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

std::string Diagnostic::to_string() const {
  std::string out = where.file.empty() ? std::string("<input>") : where.file;
  if (where.line > 0) {
    out += ':' + std::to_string(where.line);
    if (where.column > 0) {
      out += ':' + std::to_string(where.column);
    }
  }
  out += severity == Severity::warning ? ": warning: " : ": ";
  out += message;
  return out;
}

namespace {
std::string join_messages(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) {
    if (!out.empty()) {
      out += '\n';
    }
    out += d.to_string();
  }
  return out;
}
}  // namespace

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join_messages(diagnostics)), diagnostics_(std::move(diagnostics)) {}

ConfigError::ConfigError(Location where, std::string message)
    : ConfigError(std::vector<Diagnostic>{Diagnostic{std::move(where), std::move(message)}}) {}

const char* to_string(FailureKind kind) noexcept {
  switch (kind) {
    case FailureKind::transient: return "transient";
    case FailureKind::permanent: return "permanent";
    case FailureKind::policy: return "policy";
    case FailureKind::protocol: return "protocol";
    case FailureKind::internal: return "internal";
  }
  return "internal";
}

MessageError::MessageError(FailureKind kind, std::string reason)
    : std::runtime_error(reason), failure_{kind, std::move(reason)} {}

}  // namespace postern::core
