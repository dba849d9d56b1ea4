// NAME
//   guard - one place where exceptions become SMTP dispositions
// DESCRIPTION
//   Every callback runs inside guarded(): a core::MessageError maps by its
//   kind (permanent/policy → reject 5xx, the rest → the configured
//   on_internal_error), any other exception to on_internal_error. Either way
//   one log line with the queue id, the step and the reason is written. The
//   libmilter adapter and the in-process test driver share this code, so tests
//   see exactly the dispositions production gives.
// THREADS
//   Stateless.
#pragma once

#include <string_view>

#include "postern/milter/actions.hpp"
#include "postern/milter/filter.hpp"
#include "postern/milter/program.hpp"

namespace postern::milter {

// The verdict for a failure at `step`, after logging it.
Verdict failure_verdict(OnError on_error, std::string_view queue_id, std::string_view step,
                        std::exception_ptr error) noexcept;

template <typename Fn>
Verdict guarded(OnError on_error, Actions& actions, std::string_view step, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (...) {
    std::string qid;
    try {
      qid = actions.queue_id();
    } catch (...) {
    }
    return failure_verdict(on_error, qid, step, std::current_exception());
  }
}

}  // namespace postern::milter
