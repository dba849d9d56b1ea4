// NAME
//   text - text made safe to quote in an SMTP reply
// DESCRIPTION
//   printable() makes text from a message or an envelope safe to quote in
//   an SMTP reply.
// THREADS
//   Pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace postern::incamail {

// Printable ASCII only (anything else shown as '?'), at most `limit` bytes
// of text (longer text ends in "...").
std::string printable(std::string_view text, std::size_t limit = 200);

}  // namespace postern::incamail
