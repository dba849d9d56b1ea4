#include "postern/ctl/dispatcher.hpp"

#include <algorithm>
#include <stdexcept>

namespace postern::ctl {

namespace {

bool is_help(const std::string& arg) { return arg == "help" || arg == "-h" || arg == "--help"; }

}  // namespace

void Dispatcher::add(Command command) {
  const bool taken = std::any_of(commands_.begin(), commands_.end(), [&](const Command& c) {
    return c.area == command.area && c.name == command.name;
  });
  if (taken || command.area.empty() || command.name.empty() || !command.run) {
    throw std::logic_error("posternctl: bad or duplicate command '" + command.area + " " + command.name + "'");
  }
  commands_.push_back(std::move(command));
}

void Dispatcher::usage(std::ostream& os, const std::string& area) const {
  os << "usage: " << program_ << " " << (area.empty() ? "AREA" : area) << " COMMAND [ARGS]\n"
     << (area.empty() ? "commands:\n" : "commands of " + area + ":\n");
  for (const auto& c : commands_) {
    if (!area.empty() && c.area != area) continue;
    os << "  " << c.area << " " << c.name << " " << c.synopsis << "\n      " << c.summary << "\n";
  }
  os << "'" << program_ << " AREA COMMAND -h' describes a command's options.\n";
}

int Dispatcher::run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) const {
  if (args.empty()) {
    usage(err);
    return kExitUsage;
  }
  if (is_help(args[0])) {
    usage(out);
    return kExitOk;
  }
  const std::string& area = args[0];
  const bool known_area =
      std::any_of(commands_.begin(), commands_.end(), [&](const Command& c) { return c.area == area; });
  if (!known_area) {
    err << program_ << ": unknown area '" << area << "'\n";
    usage(err);
    return kExitUsage;
  }
  if (args.size() < 2 || is_help(args[1])) {
    usage(args.size() < 2 ? err : out, area);
    return args.size() < 2 ? kExitUsage : kExitOk;
  }
  const auto it = std::find_if(commands_.begin(), commands_.end(),
                               [&](const Command& c) { return c.area == area && c.name == args[1]; });
  if (it == commands_.end()) {
    err << program_ << ": unknown command '" << area << " " << args[1] << "'\n";
    usage(err, area);
    return kExitUsage;
  }
  const std::vector<std::string> rest(args.begin() + 2, args.end());
  if (std::any_of(rest.begin(), rest.end(), [](const std::string& a) { return a == "-h" || a == "--help"; })) {
    out << "usage: " << program_ << " " << it->area << " " << it->name << " " << it->synopsis << "\n"
        << it->summary << "\n"
        << it->help;
    return kExitOk;
  }
  try {
    return it->run(rest, out, err);
  } catch (const UsageError& e) {
    err << program_ << " " << it->area << " " << it->name << ": " << e.what() << "\n"
        << "usage: " << program_ << " " << it->area << " " << it->name << " " << it->synopsis << "\n";
    return kExitUsage;
  }
}

std::string take_option_value(const std::vector<std::string>& args, std::size_t& i, std::string& option) {
  if (auto eq = option.find('='); option.rfind("--", 0) == 0 && eq != std::string::npos) {
    std::string value = option.substr(eq + 1);
    option.resize(eq);
    return value;
  }
  if (i + 1 < args.size()) {
    return args[++i];
  }
  throw UsageError(option + " needs a value");
}

}  // namespace postern::ctl
