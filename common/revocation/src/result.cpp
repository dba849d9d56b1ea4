#include "postern/revocation/result.hpp"

#include "postern/ossl/certificate.hpp"

namespace postern::revocation {

const char* to_string(Status status) noexcept {
  switch (status) {
    case Status::good:
      return "good";
    case Status::revoked:
      return "revoked";
    case Status::unknown:
      return "unknown";
  }
  return "unknown";
}

const char* to_string(Mode mode) noexcept { return mode == Mode::hard_fail ? "hard-fail" : "soft-fail"; }

std::string Result::text() const {
  std::string out = to_string(status);
  switch (status) {
    case Status::good:
      out += " (" + source + (from_cache ? ", cached" : "") + ")";
      break;
    case Status::revoked:
      out += " (" + source + (from_cache ? ", cached" : "") + "): " + reason;
      if (revoked_at != 0) out += " since " + ossl::utc_text(revoked_at);
      break;
    case Status::unknown:
      out += ": " + why;
      break;
  }
  if (!note.empty()) out += "; " + note;
  return out;
}

std::string ChainResult::text() const {
  std::string out;
  for (const Result& r : results) {
    if (!out.empty()) out += "; ";
    out += r.subject + ": " + r.text();
  }
  return out.empty() ? std::string("nothing to check") : out;
}

}  // namespace postern::revocation
