#include "postern/smtp/data_writer.hpp"

#include <gtest/gtest.h>

namespace postern::smtp {
namespace {

std::string wire(std::initializer_list<std::string_view> pieces) {
  DataWriter w;
  std::string out;
  for (auto p : pieces) out += w.feed(p);
  return out + w.finish();
}

TEST(DataWriter, NormalisesLineEnds) { EXPECT_EQ(wire({"a\nb\r\nc\rd"}), "a\r\nb\r\nc\r\nd\r\n.\r\n"); }

TEST(DataWriter, CrLfSplitAcrossPiecesStaysOneLineEnd) {
  EXPECT_EQ(wire({"a\r", "\nb\r\n"}), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(wire({"a\r", "b"}), "a\r\nb\r\n.\r\n");
}

TEST(DataWriter, DotStuffsLinesStartingWithADot) {
  EXPECT_EQ(wire({".\r\n..x\r\n a.b\r\n"}), "..\r\n...x\r\n a.b\r\n.\r\n");
  // A dot at the start of a piece that continues a line is not at a line start.
  EXPECT_EQ(wire({"a", ".b\n", ".c"}), "a.b\r\n..c\r\n.\r\n");
}

TEST(DataWriter, EmptyMessageIsJustTheTerminator) { EXPECT_EQ(wire({}), ".\r\n"); }

TEST(DataWriter, Detects8Bit) {
  EXPECT_FALSE(DataWriter::is_8bit("plain ascii\r\n"));
  EXPECT_TRUE(DataWriter::is_8bit("Gr\xc3\xbc\xc3\x9f"));
}

}  // namespace
}  // namespace postern::smtp
