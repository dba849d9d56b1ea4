#include "postern/incamail/text.hpp"

#include <algorithm>

namespace postern::incamail {

std::string printable(std::string_view text, std::size_t limit) {
  std::string out;
  for (char c : text.substr(0, std::min(text.size(), limit))) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > limit) out += "...";
  return out;
}

}  // namespace postern::incamail
