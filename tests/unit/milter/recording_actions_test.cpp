#include "postern/testing/recording_actions.hpp"

#include <gtest/gtest.h>

namespace postern::testing {
namespace {

milter::Capabilities all_actions() {
  milter::Capabilities c;
  c.add_headers = c.change_headers = c.change_body = c.add_recipients = c.delete_recipients =
      c.change_sender = c.quarantine = true;
  return c;
}

TEST(RecordingActions, RefusesModificationOutsideEom) {
  RecordingActions a(all_actions());
  EXPECT_THROW(a.add_header("X-A", "b"), std::logic_error);
  a.set_in_eom(true);
  EXPECT_NO_THROW(a.add_header("X-A", "b"));
}

TEST(RecordingActions, RefusesUndeclaredCapability) {
  RecordingActions a{milter::Capabilities{}};
  a.set_in_eom(true);
  EXPECT_THROW(a.add_header("X-A", "b"), std::logic_error);
  EXPECT_THROW(a.delete_recipient("<a@b>"), std::logic_error);
  EXPECT_THROW(a.replace_body("x"), std::logic_error);
}

TEST(RecordingActions, TranscriptIsExactAndOrdered) {
  RecordingActions a(all_actions());
  a.set_in_eom(true);
  a.add_header("X-A", " v\r\n\tw");
  a.change_header("Subject", 1, std::optional<std::string_view>(" new"));
  a.change_header("X-Old", 2, std::nullopt);
  a.insert_header(0, "X-Top", " t");
  a.delete_recipient("<a@example.org>");
  a.add_recipient("<a@example.org.incamail.ch>", "NOTIFY=NEVER");
  static_cast<milter::Actions&>(a).change_sender("<>");  // the interface's default args
  a.quarantine("held by rule x");
  std::vector<std::string> expected = {
      R"(add_header "X-A" " v\r\n\tw")",
      R"(change_header "Subject" 1 " new")",
      R"(delete_header "X-Old" 2)",
      R"(insert_header 0 "X-Top" " t")",
      R"(delete_recipient "<a@example.org>")",
      R"(add_recipient "<a@example.org.incamail.ch>" "NOTIFY=NEVER")",
      R"(change_sender "<>")",
      R"(quarantine "held by rule x")",
  };
  EXPECT_EQ(a.transcript(), expected);
}

TEST(RecordingActions, BodyChunksMustBeBackToBack) {
  RecordingActions a(all_actions());
  a.set_in_eom(true);
  a.replace_body("one ");
  a.replace_body("two");
  EXPECT_EQ(a.new_body(), "one two");
  a.add_header("X-A", "b");
  EXPECT_THROW(a.replace_body("three"), std::logic_error);
}

TEST(Quote, EscapesControlAndEightBit) {
  EXPECT_EQ(quote(std::string_view("a\0b\xff\"", 5)), R"("a\x00b\xff\"")");
}

}  // namespace
}  // namespace postern::testing
