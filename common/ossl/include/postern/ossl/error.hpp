// NAME
//   error - OpenSSL's error queue as an exception or a line of text
// SUMMARY
//   if (CMS_final(cms, in, nullptr, flags) != 1) throw ossl::Error("CMS_final");
// DESCRIPTION
//   Error's message is "WHAT: first reason; second reason ..." from the
//   thread's OpenSSL error queue, which it empties, so one failure never
//   shows up in the next one's text. The reasons are OpenSSL's library and
//   reason strings only (no file names or data), safe to log.
// THREADS
//   The queue is per thread; so is everything here.
#pragma once

#include <stdexcept>
#include <string>

namespace postern::ossl {

// Takes and empties the calling thread's error queue; "" when it is empty.
std::string drain_errors();

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(with_queue(what)) {}

 private:
  static std::string with_queue(const std::string& what) {
    const std::string q = drain_errors();
    return q.empty() ? what : what + ": " + q;
  }
};

}  // namespace postern::ossl
