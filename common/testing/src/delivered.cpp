#include "postern/testing/delivered.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace postern::testing {

// Reads the quoted and bare tokens of a transcript line.
std::vector<std::string> transcript_fields(const std::string& line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ') {
      ++i;
    } else if (line[i] == '"') {
      std::string v;
      for (++i; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] != '\\') {
          v += line[i];
          continue;
        }
        const char n = line[++i];
        if (n == 'x') {
          v += static_cast<char>(std::stoi(line.substr(i + 1, 2), nullptr, 16));
          i += 2;
        } else {
          v += n == 'n' ? '\n' : n == 'r' ? '\r' : n == 't' ? '\t' : n;
        }
      }
      ++i;
      out.push_back(v);
    } else {
      const std::size_t end = std::min(line.find(' ', i), line.size());
      out.push_back(line.substr(i, end - i));
      i = end;
    }
  }
  return out;
}

namespace {

bool same_name(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

// The message as Postfix would deliver it after the filter's changes.
std::string delivered_message(std::string_view original, const MessageResult& r) {
  SplitMessage split = split_message(original, true);
  auto& hs = split.headers;
  for (const std::string& line : r.transcript) {
    const auto t = transcript_fields(line);
    if (t.empty()) continue;
    auto nth = [&](const std::string& name, int index) {
      int seen = 0;
      for (auto it = hs.begin(); it != hs.end(); ++it) {
        if (same_name(it->first, name) && ++seen == index) return it;
      }
      return hs.end();
    };
    if (t[0] == "delete_header") {
      auto it = nth(t[1], std::stoi(t[2]));
      if (it != hs.end()) hs.erase(it);
    } else if (t[0] == "change_header") {
      auto it = nth(t[1], std::stoi(t[2]));
      if (it != hs.end()) it->second = t[3];
    } else if (t[0] == "add_header") {
      hs.emplace_back(t[1], t[2]);
    }
  }
  std::string out;
  for (const auto& [name, value] : hs) {
    out += name + ":";
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) out += '\r';
      out += value[i];
    }
    out += "\r\n";
  }
  out += "\r\n";
  out += r.body_replaced ? r.new_body : split.body;
  return out;
}

}  // namespace postern::testing
