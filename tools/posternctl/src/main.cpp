// posternctl - Postern's admin tool: posternctl AREA COMMAND [ARGS]
// Each area adds its commands here, in one line.
#include <iostream>
#include <string>
#include <vector>

#include "postern/ctl/check_connection.hpp"
#include "postern/ctl/dispatcher.hpp"
#include "postern/ctl/keys_commands.hpp"
#include "postern/ctl/policy_commands.hpp"

int main(int argc, char** argv) {
  postern::ctl::Dispatcher dispatcher("posternctl");
  postern::ctl::add_incamail_commands(dispatcher);
  postern::ctl::add_policy_commands(dispatcher);
  postern::ctl::add_keys_commands(dispatcher);
  return dispatcher.run(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
