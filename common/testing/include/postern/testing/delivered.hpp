// NAME
//   delivered - what Postfix would deliver after a filter's changes
// SUMMARY
//   testing::MessageResult r = driver.run(envelope, original);
//   std::string out = testing::delivered_message(original, r);
//   std::vector<std::string> f = testing::transcript_fields(r.transcript[3]);
// DESCRIPTION
//   transcript_fields() splits one transcript line (recording_actions.hpp)
//   into its words: the action name, then each argument, quoted ones
//   unescaped (\n \r \t \\ \" \xHH).
//
//   delivered_message() applies the transcript's delete_header,
//   change_header and add_header lines to the original's header fields (in
//   order, indexes counted per name ignoring ASCII case, as Postfix does)
//   and takes the replaced body when there is one. Field values get CRLF
//   line ends; the result is "fields CRLF body".
// THREADS
//   Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "postern/testing/milter_driver.hpp"

namespace postern::testing {

std::vector<std::string> transcript_fields(const std::string& line);

std::string delivered_message(std::string_view original, const MessageResult& result);

}  // namespace postern::testing
