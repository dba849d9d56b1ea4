// NAME
//   subject_command - the {send_keys} commands users type into the Subject
// SUMMARY
//   if (auto cmd = find_subject_commands(raw_subject)) {
//     if (auto why = subject_command_refusal(policy.subject(envelope, facts, "")))
//       ... ignored, log *why
//     else ... every plan gets cmd->keys, the Subject becomes cmd->value
//   }
// DESCRIPTION
//   The commands, ASCII case ignored, anywhere in the Subject:
//     {send_keys}        attach the sender's S/MIME certificate and OpenPGP key
//     {send_keys_smime}  the S/MIME certificate (with its CA chain)
//     {send_keys_pgp}    the OpenPGP key
//   Several commands add up ({send_keys_smime} and {send_keys_pgp} mean
//   all). find_subject_commands() looks at the raw value first (as
//   libmilter passes it: leading space, folds as LF) and removes each
//   command there, keeping every other byte; when a command is only visible
//   after decoding encoded words (a client that encodes the whole Subject)
//   the decoded text is edited and encoded anew. Removing a command that
//   stood between two blanks removes one of them too; one at the end (of
//   the value or of a folded line) takes the blank before it.
//
//   subject_command_refusal(): commands are honoured only from an
//   authenticated internal sender, which is narrower than "outbound": the
//   client is in direction.internal_networks, or authenticated with SASL
//   (SMTP AUTH). A message that is outbound only because it came in on an
//   outbound listener is refused (the listener does not say who the
//   client is), and so is every inbound message. The answer is the reason
//   for the log, nullopt when honoured.
// THREADS
//   Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postern/plan/plan.hpp"
#include "postern/policy/policy.hpp"

namespace postern::policy {

struct SubjectCommand {
  plan::SendKeys keys = plan::SendKeys::none;
  std::vector<std::string> found;  // the commands as written, in order
  std::string value;               // the raw Subject value without them
};

// nullopt when the value holds no command.
std::optional<SubjectCommand> find_subject_commands(std::string_view raw_value);

std::optional<std::string> subject_command_refusal(const Subject& subject);

}  // namespace postern::policy
