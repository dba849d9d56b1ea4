#include "postern/testing/golden.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "postern/config/node.hpp"
#include "postern/log/log.hpp"

namespace postern::testing {

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + p.string());
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
}

std::string first_difference(const std::string& expected, const std::string& actual) {
  std::istringstream e(expected), a(actual);
  std::string el, al;
  for (int line = 1;; ++line) {
    bool he = static_cast<bool>(std::getline(e, el));
    bool ha = static_cast<bool>(std::getline(a, al));
    if (!he && !ha) return "";
    if (!he || !ha || el != al) {
      return "line " + std::to_string(line) + ": expected [" + (he ? el : "<end>") + "] got [" +
             (ha ? al : "<end>") + "]";
    }
  }
}

// Captures log lines for the lifetime of the object.
class LogCapture {
 public:
  LogCapture() {
    log::set_capture([](log::Level, const std::string& line, void* user) {
      *static_cast<std::string*>(user) += line + "\n";
    }, &lines_);
  }
  ~LogCapture() { log::set_capture(nullptr, nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  const std::string& lines() const { return lines_; }

 private:
  std::string lines_;
};

}  // namespace

Envelope load_envelope(const fs::path& file) {
  Envelope env;
  if (!fs::exists(file)) {
    return env;
  }
  config::Node root = config::parse_file(file.string());
  if (root.is_null()) {
    return env;
  }
  for (const auto& [key, value] : root.entries()) {
    const std::string& k = key.text();
    if (k == "client") {
      if (const auto* a = value.find("address")) {
        env.client_address = a->is_null() ? std::nullopt : std::optional<std::string>(a->text());
      }
      if (const auto* h = value.find("hostname")) env.hostname = h->text();
      if (const auto* p = value.find("port")) env.client_port = static_cast<unsigned>(std::stoul(p->text()));
    } else if (k == "helo") {
      env.helo = value.text();
    } else if (k == "sender") {
      env.sender = value.text();
    } else if (k == "recipients") {
      env.recipients.clear();
      for (const auto& r : value.items()) env.recipients.push_back(r.text());
    } else if (k == "macros") {
      for (const auto& [mk, mv] : value.entries()) env.macros[mk.text()] = mv.text();
    } else {
      throw core::ConfigError(key.where(), "unknown envelope key '" + k + "'");
    }
  }
  return env;
}

GoldenOutcome run_golden_case(const fs::path& dir, const config::Schema& schema, const FilterBuilder& build) {
  GoldenOutcome outcome;
  outcome.name = dir.filename().string();
  try {
    fs::path cfg_file = dir / "config.yaml";
    auto cfg = std::make_shared<const config::Config>(fs::exists(cfg_file) ? config::load_file(schema, cfg_file.string())
                                                                         : config::defaults(schema));
    milter::OnError on_error = milter::OnError::tempfail;
    if (schema.find("milter.on_internal_error") != nullptr) {
      on_error = milter::parse_on_error(cfg->get_string("milter.on_internal_error"));
    }
    MilterDriver driver(build(cfg), on_error);
    LogCapture capture;
    MessageResult r = driver.run(load_envelope(dir / "envelope.yaml"), read_file(dir / "message.eml"));
    std::string actual;
    for (const auto& line : r.transcript) actual += line + "\n";
    bool update = std::getenv("POSTERN_UPDATE_GOLDEN") != nullptr;
    fs::path expected_file = dir / "expected.txt";
    fs::path body_file = dir / "expected-body.eml";
    fs::path log_file = dir / "expected-log.txt";
    if (update) {
      write_file(expected_file, actual);
      write_file(log_file, capture.lines());
      if (r.body_replaced) write_file(body_file, r.new_body);
      outcome.passed = true;
      return outcome;
    }
    outcome.difference = first_difference(read_file(expected_file), actual);
    if (outcome.difference.empty() && (r.body_replaced || fs::exists(body_file))) {
      if (!r.body_replaced) {
        outcome.difference = "expected a replaced body, the body was not replaced";
      } else if (read_file(body_file) != r.new_body) {
        outcome.difference = "replaced body: " + first_difference(read_file(body_file), r.new_body);
      }
    }
    if (outcome.difference.empty() && fs::exists(log_file)) {
      std::string log_difference = first_difference(read_file(log_file), capture.lines());
      if (!log_difference.empty()) outcome.difference = "log: " + log_difference;
    }
    outcome.passed = outcome.difference.empty();
  } catch (const std::exception& e) {
    outcome.difference = std::string("error: ") + e.what();
  }
  return outcome;
}

std::vector<fs::path> golden_cases(const fs::path& root) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace postern::testing
