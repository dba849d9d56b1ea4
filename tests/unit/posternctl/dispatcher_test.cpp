#include "postern/ctl/dispatcher.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace postern::ctl {
namespace {

Dispatcher make() {
  Dispatcher d("posternctl");
  d.add({.area = "incamail",
         .name = "check-connection",
         .synopsis = "HOST",
         .summary = "check it",
         .help = "  HOST  the host\n",
         .run = [](const std::vector<std::string>& args, std::ostream& out, std::ostream&) {
           if (args.empty()) throw UsageError("HOST is missing");
           out << "ran " << args[0] << "\n";
           return args[0] == "bad" ? kExitFailed : kExitOk;
         }});
  d.add({.area = "keys",
         .name = "list",
         .synopsis = "",
         .summary = "list keys",
         .help = "",
         .run = [](const std::vector<std::string>&, std::ostream& out, std::ostream&) {
           out << "no keys\n";
           return kExitOk;
         }});
  return d;
}

struct Case {
  const char* name;
  std::vector<std::string> args;
  int code;
  std::string out;  // expected to be contained in stdout ("" = stdout empty)
  std::string err;  // expected to be contained in stderr ("" = stderr empty)
};

class DispatcherTest : public ::testing::TestWithParam<Case> {};

TEST_P(DispatcherTest, Dispatches) {
  const Case& c = GetParam();
  std::ostringstream out, err;
  EXPECT_EQ(make().run(c.args, out, err), c.code);
  if (c.out.empty()) {
    EXPECT_EQ(out.str(), "");
  } else {
    EXPECT_NE(out.str().find(c.out), std::string::npos) << out.str();
  }
  if (c.err.empty()) {
    EXPECT_EQ(err.str(), "");
  } else {
    EXPECT_NE(err.str().find(c.err), std::string::npos) << err.str();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Args, DispatcherTest,
    ::testing::Values(
        Case{"nothing", {}, kExitUsage, "", "usage: posternctl AREA COMMAND [ARGS]"},
        Case{"help", {"help"}, kExitOk, "  keys list \n      list keys", ""},
        Case{"dash_h", {"-h"}, kExitOk, "incamail check-connection HOST", ""},
        Case{"unknown_area", {"dns"}, kExitUsage, "", "posternctl: unknown area 'dns'"},
        Case{"area_alone", {"incamail"}, kExitUsage, "", "commands of incamail:"},
        Case{"area_help", {"incamail", "help"}, kExitOk, "commands of incamail:", ""},
        Case{"unknown_command", {"incamail", "send"}, kExitUsage, "", "unknown command 'incamail send'"},
        Case{"command_ok", {"incamail", "check-connection", "mx"}, kExitOk, "ran mx\n", ""},
        Case{"command_fails", {"incamail", "check-connection", "bad"}, kExitFailed, "ran bad\n", ""},
        Case{"command_help", {"incamail", "check-connection", "mx", "--help"}, kExitOk,
             "usage: posternctl incamail check-connection HOST\ncheck it\n  HOST  the host\n", ""},
        Case{"usage_error", {"incamail", "check-connection"}, kExitUsage, "",
             "posternctl incamail check-connection: HOST is missing\nusage: posternctl incamail check-connection HOST"},
        Case{"other_area", {"keys", "list"}, kExitOk, "no keys", ""}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Dispatcher, RefusesDuplicatesAndEmptyCommands) {
  Dispatcher d = make();
  auto noop = [](const std::vector<std::string>&, std::ostream&, std::ostream&) { return 0; };
  EXPECT_THROW(d.add({.area = "keys", .name = "list", .run = noop}), std::logic_error);
  EXPECT_THROW(d.add({.area = "", .name = "x", .run = noop}), std::logic_error);
  EXPECT_THROW(d.add({.area = "keys", .name = "import"}), std::logic_error);
  EXPECT_NO_THROW(d.add({.area = "keys", .name = "import", .run = noop}));
}

}  // namespace
}  // namespace postern::ctl
