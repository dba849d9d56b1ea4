#include "postern/policy/subject_command.hpp"

#include <array>
#include <stdexcept>

#include "postern/core/strings.hpp"
#include "postern/mime/encoded_word.hpp"

namespace postern::policy {

namespace {

struct Known {
  std::string_view text;
  plan::SendKeys keys;
};

constexpr std::array<Known, 3> kCommands{{
    {"{send_keys}", plan::SendKeys::all},
    {"{send_keys_smime}", plan::SendKeys::smime},
    {"{send_keys_pgp}", plan::SendKeys::pgp},
}};

plan::SendKeys combine(plan::SendKeys a, plan::SendKeys b) {
  if (a == plan::SendKeys::none) return b;
  if (b == plan::SendKeys::none || a == b) return a;
  return plan::SendKeys::all;
}

bool blank(char c) { return c == ' ' || c == '\t'; }

// Removes every command from `text`; the commands found go to `out`.
std::string remove_commands(std::string_view text, SubjectCommand& out) {
  std::string s(text);
  std::size_t from = 0;
  for (;;) {
    std::size_t at = std::string::npos;
    const Known* which = nullptr;
    const std::string lower = core::ascii_lower(std::string_view(s).substr(from));
    for (const Known& k : kCommands) {
      const std::size_t p = lower.find(k.text);
      if (p != std::string::npos && (at == std::string::npos || from + p < at)) {
        at = from + p;
        which = &k;
      }
    }
    if (which == nullptr) return s;
    out.found.push_back(s.substr(at, which->text.size()));
    out.keys = combine(out.keys, which->keys);
    s.erase(at, which->text.size());
    const bool blank_before = at > 0 && blank(s[at - 1]);
    if (blank_before && at < s.size() && blank(s[at])) {
      s.erase(at, 1);
    } else if (blank_before && (at == s.size() || s[at] == '\r' || s[at] == '\n') && at > 1) {
      // At the end of the value or of a folded line.
      s.erase(at - 1, 1);
      --at;
    }
    from = at;
  }
}

}  // namespace

std::optional<SubjectCommand> find_subject_commands(std::string_view raw_value) {
  SubjectCommand cmd;
  cmd.value = remove_commands(raw_value, cmd);
  if (!cmd.found.empty()) return cmd;
  // Only visible decoded: write the Subject anew from the decoded text.
  const std::string decoded = mime::decode_header_text(raw_value);
  const std::string text = remove_commands(decoded, cmd);
  if (cmd.found.empty()) return std::nullopt;
  const std::string trimmed(core::trim(text));
  try {
    cmd.value = mime::encode_header_text("Subject", trimmed, "\n");
  } catch (const std::invalid_argument&) {
    cmd.value = mime::encode_header_text("Subject", core::escape_controls(trimmed), "\n");
  }
  return cmd;
}

std::optional<std::string> subject_command_refusal(const Subject& subject) {
  if (subject.direction == Direction::inbound) return std::string("inbound message");
  if (subject.direction_reason == "internal network" || !subject.envelope.auth_user.empty()) return std::nullopt;
  return std::string("outbound only by its listener: the client is neither internal nor authenticated");
}

}  // namespace postern::policy
