// sniff_type() on the magic bytes of each type, type_mismatch() on the
// combinations of sniffed type, declared type and extension, and the
// parser of Authentication-Results.
#include <gtest/gtest.h>

#include <string>

#include "postern/policy/facts.hpp"

namespace postern::policy {
namespace {

using namespace std::string_literals;

TEST(Sniff, KnowsEachMagic) {
  const std::string pad(64, '\0');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"%PDF-1.7\n" + pad, "pdf"},
      {"\r\n%PDF-1.4" + pad, "pdf"},  // leading junk is allowed in the first KiB
      {"PK\x03\x04"s + pad, "zip"},
      {"PK\x03\x04"s + pad + "word/document.xml[Content_Types].xml", "ooxml"},
      {"PK\x05\x06"s + pad, "zip"},
      {"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"s + pad, "ole2"},
      {"MZ"s + pad, "exe"},
      {"\x7F" "ELF\x02\x01"s + pad, "elf"},
      {"\x89PNG\r\n\x1A\n"s + pad, "png"},
      {"\xFF\xD8\xFF\xE0"s + pad, "jpeg"},
      {"GIF89a"s + pad, "gif"},
      {"GIF87a"s + pad, "gif"},
      {"Rar!\x1A\x07\x00"s + pad, "rar"},
      {"Rar!\x1A\x07\x01\x00"s + pad, "rar"},
      {"7z\xBC\xAF\x27\x1C"s + pad, "7z"},
      {"\x1F\x8B\x08"s + pad, "gzip"},
      {"BZh9"s + pad, "bzip2"},
      {"\xFD" "7zXZ\x00"s + pad, "xz"},
      {"{\\rtf1\\ansi"s + pad, "rtf"},
      {"MSCF\0\0\0\0"s + pad, "cab"},
      {"MZ", ""},  // too short for a DOS header
      {"BZhx", ""},
      {"hello world", ""},
      {"", ""},
  };
  for (const auto& [bytes, type] : cases) EXPECT_EQ(sniff_type(bytes), type) << type;
  EXPECT_EQ(sniffed_type_names().size(), 16u);
}

TEST(Sniff, MismatchTable) {
  struct Row {
    const char* name;
    const char* declared;
    const char* sniffed;
    bool mismatch;
  };
  const Row rows[] = {
      {"a.pdf", "application/pdf", "pdf", false},
      {"a.pdf", "application/octet-stream", "pdf", false},  // generic type claims nothing
      {"a", "application/pdf", "pdf", false},               // no extension claims nothing
      {"a.pdf", "application/pdf", "exe", true},            // the classic disguise
      {"a.exe", "application/pdf", "exe", true},
      {"a.pdf", "application/octet-stream", "exe", true},
      {"a.txt", "text/plain", "exe", true},                 // a known kind nothing allows
      {"a.docx", "application/zip", "ooxml", false},        // zip and ooxml are one family
      {"a.zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "zip", false},
      {"a.doc", "application/msword", "ole2", false},
      {"a.JPG", "image/jpeg", "jpeg", false},
      {"a.png", "image/png", "", true},                     // claims PNG, bytes are not
      {"a.txt", "text/plain", "", false},                   // nothing known claimed or found
      {"", "message/rfc822", "", false},
      {"archive.tar.gz", "application/gzip", "gzip", false},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(type_mismatch(Attachment{r.name, r.declared, r.sniffed}), r.mismatch)
        << r.name << " " << r.declared << " " << r.sniffed;
  }
}

TEST(AuthResults, ParsesIdMethodsAndDropsComments) {
  const auto ar = parse_authentication_results(
      " MX.Example.ORG 1; spf=pass (mx.example.org: domain of (nested) a@example.org designates 192.0.2.7)\r\n"
      "\tsmtp.mailfrom=a@example.org; dkim/2=fail header.d=\"x;y\"; senderid=none");
  EXPECT_EQ(ar.authserv_id, "mx.example.org");
  ASSERT_EQ(ar.results.size(), 3u);
  EXPECT_EQ(ar.results[0].method, "spf");
  EXPECT_EQ(ar.results[0].result, "pass");
  EXPECT_EQ(ar.results[0].properties, "smtp.mailfrom=a@example.org");
  EXPECT_EQ(ar.results[1].method, "dkim");
  EXPECT_EQ(ar.results[2].result, "none");
  EXPECT_TRUE(parse_authentication_results("mx.example.org; none").results.empty());
  EXPECT_TRUE(parse_authentication_results("").authserv_id.empty());
}

TEST(Facts, AttachmentsCarryDeclaredAndSniffedTypes) {
  const auto f = MessageFacts::from_message(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext\r\n"
      "--b\r\nContent-Type: Application/PDF; name=x.pdf\r\n\r\n%PDF-1.4 body\r\n"
      "--b\r\nContent-Type: application/octet-stream; name=y.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "!!!not base64!!!\r\n--b--\r\n");
  ASSERT_EQ(f.attachments.size(), 2u);
  EXPECT_EQ(f.attachments[0], (Attachment{"x.pdf", "application/pdf", "pdf"}));
  EXPECT_EQ(f.attachments[1].sniffed_type, "");  // undecodable: unknown, no crash
  EXPECT_EQ(f.attachment_names, (std::vector<std::string>{"x.pdf", "y.bin"}));
}

}  // namespace
}  // namespace postern::policy
