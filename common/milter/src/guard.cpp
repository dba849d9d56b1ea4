#include "postern/milter/guard.hpp"

#include <exception>
#include <string>

#include "postern/core/error.hpp"
#include "postern/log/log.hpp"

namespace postern::milter {

namespace {

Verdict for_on_error(OnError on_error) {
  switch (on_error) {
    case OnError::accept:
      return Verdict::accept();
    case OnError::reject:
      return Verdict::reject("550", "5.3.0", "message could not be processed");
    case OnError::tempfail:
      break;
  }
  return Verdict::tempfail("451", "4.3.0", "temporary failure in mail processing, try again later");
}

const char* disposition_name(const Verdict& v) {
  switch (v.status) {
    case Status::accept: return "accept";
    case Status::reject: return "reject";
    case Status::tempfail: return "tempfail";
    default: return "continue";
  }
}

}  // namespace

OnError parse_on_error(const std::string& text) {
  if (text == "tempfail") return OnError::tempfail;
  if (text == "accept") return OnError::accept;
  if (text == "reject") return OnError::reject;
  throw std::invalid_argument("unknown on_internal_error '" + text + "'");
}

Verdict failure_verdict(OnError on_error, std::string_view queue_id, std::string_view step,
                        std::exception_ptr error) noexcept {
  Verdict verdict = Verdict::tempfail("451", "4.3.0", "temporary failure in mail processing, try again later");
  try {
    std::string kind = "internal";
    std::string reason = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const core::MessageError& e) {
      kind = core::to_string(e.failure().kind);
      reason = e.failure().reason;
      switch (e.failure().kind) {
        case core::FailureKind::permanent:
        case core::FailureKind::policy:
          verdict = Verdict::reject("550", "5.7.0", "message refused: " + reason);
          break;
        case core::FailureKind::transient:
          verdict = Verdict::tempfail("451", "4.3.0", "temporary failure in mail processing, try again later");
          break;
        case core::FailureKind::protocol:
        case core::FailureKind::internal:
          verdict = for_on_error(on_error);
          break;
      }
    } catch (const std::exception& e) {
      reason = e.what();
      verdict = for_on_error(on_error);
    } catch (...) {
      verdict = for_on_error(on_error);
    }
    log::error(queue_id, "failure",
               {{"step", step}, {"kind", kind}, {"reason", reason}, {"action", disposition_name(verdict)}});
  } catch (...) {
    // Building the log line failed (out of memory): the tempfail stands.
  }
  return verdict;
}

}  // namespace postern::milter
