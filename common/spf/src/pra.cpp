#include "postern/spf/pra.hpp"

#include "postern/core/strings.hpp"

namespace postern::spf {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

bool non_empty(const std::pair<std::string, std::string>& h) { return !core::trim(h.second).empty(); }

std::vector<std::size_t> indexes(const Headers& headers, std::string_view name) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (core::iequals(headers[i].first, name) && non_empty(headers[i])) {
      out.push_back(i);
    }
  }
  return out;
}

// RFC 4407 §2 step 5.
Pra single_mailbox(const std::pair<std::string, std::string>& h) {
  Pra pra;
  pra.header = h.first;
  try {
    auto list = mime::parse_address_list(h.second);
    if (list.size() != 1) {
      pra.problem = h.first + " holds " + std::to_string(list.size()) + " mailboxes";
    } else if (list.front().domain.empty() || list.front().domain.front() == '[') {
      pra.problem = h.first + " mailbox has no domain name";
    } else {
      pra.mailbox = std::move(list.front());
    }
  } catch (const mime::AddressError& e) {
    pra.problem = h.first + " is malformed: " + e.what();
  }
  return pra;
}

}  // namespace

Pra find_pra(const Headers& headers) {
  const auto resent_sender = indexes(headers, "Resent-Sender");
  const auto resent_from = indexes(headers, "Resent-From");
  if (!resent_sender.empty()) {
    const std::size_t s = resent_sender.front();
    bool older_block = false;
    if (!resent_from.empty() && resent_from.front() < s) {
      for (std::size_t i = resent_from.front() + 1; i < s; ++i) {
        older_block = older_block || core::iequals(headers[i].first, "Received") ||
                      core::iequals(headers[i].first, "Return-Path");
      }
    }
    if (!older_block) {
      return single_mailbox(headers[s]);
    }
  }
  if (!resent_from.empty()) {
    return single_mailbox(headers[resent_from.front()]);
  }
  for (const char* name : {"Sender", "From"}) {
    const auto found = indexes(headers, name);
    if (found.size() == 1) {
      return single_mailbox(headers[found.front()]);
    }
    if (found.size() > 1) {
      return Pra{std::nullopt, name, std::string("more than one ") + name + " header"};
    }
  }
  return Pra{std::nullopt, "", "no From header"};
}

}  // namespace postern::spf
