// NAME
//   data_writer - the bytes of an SMTP DATA section
// SUMMARY
//   DataWriter w;
//   std::string wire = w.feed(headers) + w.feed(body) + w.finish();
// DESCRIPTION
//   Turns message bytes, given in pieces, into what goes after DATA: every
//   line end becomes CRLF (a bare LF, a bare CR and CRLF alike; a CR at the
//   end of one piece and an LF at the start of the next stay one line end),
//   a line that starts with "." gets another "." (RFC 5321 §4.5.2), and
//   finish() ends the last line if needed and adds ".\r\n".
//   has_8bit() says whether any byte was above 127 (for BODY=8BITMIME).
// THREADS
//   One writer per message.
#pragma once

#include <string>
#include <string_view>

namespace postern::smtp {

class DataWriter {
 public:
  std::string feed(std::string_view bytes);
  std::string finish();

  static bool is_8bit(std::string_view bytes) noexcept;

 private:
  bool line_start_ = true;
  bool pending_cr_ = false;
};

}  // namespace postern::smtp
