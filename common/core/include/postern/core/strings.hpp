// NAME
//   strings - small ASCII string helpers shared by every layer
// DESCRIPTION
//   ASCII-only on purpose: mail protocol tokens (header names, domains,
//   keywords) compare case-insensitively in ASCII, never by locale.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern::core {

char ascii_lower(char c) noexcept;
std::string ascii_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b) noexcept;
bool istarts_with(std::string_view s, std::string_view prefix) noexcept;
bool iends_with(std::string_view s, std::string_view suffix) noexcept;
bool icontains(std::string_view haystack, std::string_view needle) noexcept;
std::string_view trim(std::string_view s) noexcept;  // SP, HT, CR, LF
std::vector<std::string_view> split(std::string_view s, char sep);
// Control characters (below 0x20, and 0x7f) as \xNN, everything else as is:
// text from mail or config shown on one line without terminal effects.
std::string escape_controls(std::string_view s);

}  // namespace postern::core
