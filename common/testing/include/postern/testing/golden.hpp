// NAME
//   golden - regression cases as folders
// DESCRIPTION
//   A case is a folder holding:
//     config.yaml     the milter's configuration (optional: defaults)
//     envelope.yaml   client, helo, macros, sender, recipients (optional)
//     message.eml     the message as the client sends it (LF or CRLF)
//     expected.txt    the transcript the driver must produce
//     expected-log.txt  the log lines the filter wrote (optional; checked
//                     when present)
//   and, when the filter replaces the body, expected-body.eml.
//   Log lines are captured while the case runs, so set the program name and
//   level with log::init before running cases.
//   envelope.yaml:
//     client: {address: 192.0.2.7, hostname: mail.example.org}  # address: null → NULL hostaddr
//     helo: mail.example.org
//     sender: <bob@example.org>
//     recipients: [<alice@example.com>]
//     macros: {"{daemon_name}": smtpd, "{auth_authen}": alice}
//   With POSTERN_UPDATE_GOLDEN=1 in the environment, expected files (the
//   log file too) are
//   (re)written instead of compared: review the diff before committing.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "postern/config/config.hpp"
#include "postern/milter/filter.hpp"
#include "postern/testing/milter_driver.hpp"

namespace postern::testing {

struct GoldenOutcome {
  std::string name;
  bool passed = false;
  std::string difference;  // empty when passed
};

using FilterBuilder =
    std::function<std::shared_ptr<const milter::Filter>(std::shared_ptr<const config::Config>)>;

Envelope load_envelope(const std::filesystem::path& file);

// Runs one case folder.
GoldenOutcome run_golden_case(const std::filesystem::path& dir, const config::Schema& schema,
                              const FilterBuilder& build);
// Every sub-folder of root, sorted by name.
std::vector<std::filesystem::path> golden_cases(const std::filesystem::path& root);

}  // namespace postern::testing
