// NAME
//   dispatcher - posternctl's "<area> <command> [args]" dispatch
// SUMMARY
//   Dispatcher d("posternctl");
//   add_incamail_commands(d);            // each area adds its commands
//   return d.run(args, std::cout, std::cerr);
// DESCRIPTION
//   An area (incamail, later policy, keys...) is a word that groups
//   commands; each area has one add_<area>_commands(Dispatcher&) function,
//   called from main.cpp, so adding an area is one line there. Commands get
//   the arguments after their name and write to the streams they are given,
//   so tests run them without a process.
//   "help", "-h" and "--help" work at every level: "posternctl help",
//   "posternctl incamail help", "posternctl incamail check-connection -h".
//   Exit codes are shared by every command: 0 all good, 1 a check failed,
//   2 the command could not be completed (network, files), 64 usage.
// THREADS
//   Built once in main; run() is const.
#pragma once

#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace postern::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitError = 2;
inline constexpr int kExitUsage = 64;  // sysexits EX_USAGE

struct Command {
  std::string area;      // "incamail"
  std::string name;      // "check-connection"
  std::string synopsis;  // the arguments, e.g. "HOST[:PORT] [--ca FILE]"
  std::string summary;   // one line
  std::string help;      // the options, one per line; printed by -h
  std::function<int(const std::vector<std::string>& args, std::ostream& out, std::ostream& err)> run;
};

class Dispatcher {
 public:
  explicit Dispatcher(std::string program) : program_(std::move(program)) {}

  // A second command with the same area and name is a programming error
  // (std::logic_error).
  void add(Command command);
  // args: everything after the program name.
  int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) const;

 private:
  void usage(std::ostream& os, const std::string& area = {}) const;
  std::string program_;
  std::vector<Command> commands_;
};

// The value of the option args[i], written "--opt VALUE", "--opt=VALUE" or
// "-o VALUE": on return `option` holds the option name alone and i points at
// the last argument used. Throws UsageError when the value is missing.
std::string take_option_value(const std::vector<std::string>& args, std::size_t& i, std::string& option);

// Usage error inside a command: the dispatcher prints it with the command's
// synopsis and exits 64.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace postern::ctl
