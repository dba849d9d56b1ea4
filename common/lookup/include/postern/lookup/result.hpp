// NAME
//   result - the answer of a lookup that may fail for reasons outside Postern
// SUMMARY
//   Lookup<bool> r = directory.member_of("a@example.org", "staff");
//   if (r.failed()) return tempfail(r.error);
// DESCRIPTION
//   A lookup either answers (a value, which may be "nothing found") or fails
//   (directory down, timeout, unreadable store). The two are kept apart so a
//   caller can apply its on_error setting: an unreachable directory must
//   never read as "not a member".
// THREADS
//   A value.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace postern::lookup {

template <typename T>
struct Lookup {
  std::optional<T> value;  // set when the lookup answered
  std::string error;       // why it did not; set exactly when !value

  static Lookup answer(T v) { return Lookup{std::optional<T>(std::move(v)), {}}; }
  static Lookup failure(std::string why) { return Lookup{std::nullopt, std::move(why)}; }
  bool failed() const noexcept { return !value.has_value(); }
};

}  // namespace postern::lookup
