#include "postern/mime/part.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace postern::mime {
namespace {

using namespace std::string_literals;

// A gap between parts must be exactly a delimiter line: an optional line
// break (the one before the delimiter), "--boundary", "--" when closing,
// padding, and a line break unless it ends the body.
void expect_delimiter(std::string_view gap, const std::string& boundary, bool close) {
  SCOPED_TRACE("gap: " + std::string(gap));
  if (gap.substr(0, 2) == "\r\n") {
    gap.remove_prefix(2);
  } else if (gap.substr(0, 1) == "\n") {
    gap.remove_prefix(1);
  }
  ASSERT_EQ(gap.substr(0, boundary.size() + 2), "--" + boundary);
  gap.remove_prefix(boundary.size() + 2);
  if (close) {
    ASSERT_EQ(gap.substr(0, 2), "--");
    gap.remove_prefix(2);
  }
  while (!gap.empty() && (gap.front() == ' ' || gap.front() == '\t')) {
    gap.remove_prefix(1);
  }
  EXPECT_TRUE(gap.empty() || gap == "\n" || gap == "\r\n");
}

// Structural invariants of any parse: ranges nest and tile their parent, so
// the message can be rebuilt byte for byte from its parts.
void check_tree(const Part& part, std::string_view message) {
  EXPECT_LE(part.header.begin, part.header.end);
  EXPECT_EQ(part.header.end, part.body.begin);
  EXPECT_LE(part.body.begin, part.body.end);
  EXPECT_LE(part.body.end, message.size());
  EXPECT_EQ(part.headers.serialize(), part.header.of(message));
  if (part.children.empty()) {
    return;
  }
  if (!part.content_type.is("multipart")) {
    ASSERT_EQ(part.children.size(), 1U);  // message/rfc822
    EXPECT_EQ(part.children[0].whole(), part.body);
    check_tree(part.children[0], message);
    return;
  }
  const std::string boundary = *part.content_type.param("boundary");
  EXPECT_EQ(part.preamble.begin, part.body.begin);
  std::size_t at = part.preamble.end;
  for (const Part& child : part.children) {
    expect_delimiter(message.substr(at, child.header.begin - at), boundary, false);
    check_tree(child, message);
    at = child.body.end;
  }
  if (part.has(Defect::missing_close_delimiter)) {
    EXPECT_EQ(at, part.body.end);
  } else {
    expect_delimiter(message.substr(at, part.epilogue.begin - at), boundary, true);
    EXPECT_EQ(part.epilogue.end, part.body.end);
  }
}

Part parse_checked(const std::string& message, const MimeLimits& limits = {}) {
  Part root = parse_message(message, limits);
  EXPECT_EQ(root.whole(), (Range{0, message.size()}));
  check_tree(root, message);
  return root;
}

TEST(ParseMessage, SinglePart) {
  std::string message = "From: a@example.com\r\nSubject: hi\r\n\r\nHello\r\n";
  Part root = parse_checked(message);
  EXPECT_EQ(root.header, (Range{0, 36}));
  EXPECT_EQ(root.body.of(message), "Hello\r\n");
  EXPECT_TRUE(root.content_type.is("text", "plain"));
  EXPECT_EQ(root.transfer_encoding, "7bit");
  EXPECT_TRUE(root.children.empty());
  EXPECT_TRUE(root.defects.empty());
}

const std::string kMixed =
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "first\r\n"
    "\r\n"
    "--b1 \t\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: BASE64\r\n"
    "Content-Disposition: attachment; filename=\"data.bin\"\r\n"
    "\r\n"
    "AAEC\r\n"
    "--b1--\r\n"
    "epilogue\r\n";

TEST(ParseMessage, Multipart) {
  Part root = parse_checked(kMixed);
  EXPECT_TRUE(root.defects.empty());
  EXPECT_EQ(root.preamble.of(kMixed), "preamble");
  EXPECT_EQ(root.epilogue.of(kMixed), "epilogue\r\n");
  ASSERT_EQ(root.children.size(), 2U);
  const Part& text = root.children[0];
  EXPECT_EQ(text.whole().of(kMixed), "Content-Type: text/plain; charset=utf-8\r\n\r\nfirst\r\n");
  EXPECT_EQ(text.body.of(kMixed), "first\r\n");
  EXPECT_EQ(*text.content_type.param("charset"), "utf-8");
  const Part& data = root.children[1];
  EXPECT_EQ(data.transfer_encoding, "base64");
  EXPECT_EQ(data.disposition.type, "attachment");
  EXPECT_EQ(data.filename(), "data.bin");
  EXPECT_EQ(data.body.of(kMixed), "AAEC");
  EXPECT_EQ(data.decoded_body(kMixed), "\0\1\2"s);
}

TEST(ParseMessage, LfOnlyAndNoPreamble) {
  std::string message =
      "Content-Type: multipart/alternative; boundary=x\n\n--x\n\nplain\n--x\nContent-Type: text/html\n\n<p>\n--x--";
  Part root = parse_checked(message);
  EXPECT_TRUE(root.defects.empty());
  EXPECT_EQ(root.preamble.size(), 0U);
  ASSERT_EQ(root.children.size(), 2U);
  EXPECT_EQ(root.children[0].header.of(message), "\n");
  EXPECT_EQ(root.children[0].body.of(message), "plain");
  EXPECT_EQ(root.children[1].body.of(message), "<p>");
  EXPECT_EQ(root.epilogue.size(), 0U);
}

TEST(ParseMessage, BoundaryPrefixIsNotADelimiter) {
  std::string message =
      "Content-Type: multipart/mixed; boundary=abc\r\n\r\n--abc\r\n\r\n--abcdef\r\n--abc-x\r\n --abc\r\n--abc--\r\n";
  Part root = parse_checked(message);
  ASSERT_EQ(root.children.size(), 1U);
  EXPECT_EQ(root.children[0].body.of(message), "--abcdef\r\n--abc-x\r\n --abc");
}

TEST(ParseMessage, EmptyParts) {
  // The line break before a delimiter is the delimiter's: "--b\n\n--b--"
  // holds an empty part, not one with a blank header line.
  std::string message = "Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\n\n--b\n\nbody\n--b--\n";
  Part root = parse_checked(message);
  ASSERT_EQ(root.children.size(), 3U);
  EXPECT_EQ(root.children[0].whole().size(), 0U);
  EXPECT_TRUE(root.children[0].defects.empty());
  EXPECT_EQ(root.children[1].whole().size(), 0U);
  EXPECT_EQ(root.children[2].header.of(message), "\n");
  EXPECT_EQ(root.children[2].body.of(message), "body");
}

TEST(ParseMessage, NestedMultipart) {
  std::string message =
      "Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
      "--outer\r\n"
      "Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
      "--inner\r\n\r\ntext\r\n--inner\r\nContent-Type: text/html\r\n\r\nhtml\r\n--inner--\r\n"
      "--outer\r\nContent-Type: image/png; name=\"a.png\"\r\n\r\nPNG\r\n"
      "--outer--\r\n";
  Part root = parse_checked(message);
  ASSERT_EQ(root.children.size(), 2U);
  const Part& alternative = root.children[0];
  ASSERT_EQ(alternative.children.size(), 2U);
  EXPECT_EQ(alternative.children[0].body.of(message), "text");
  EXPECT_EQ(alternative.children[1].body.of(message), "html");
  EXPECT_EQ(alternative.epilogue.size(), 0U);
  EXPECT_EQ(root.children[1].filename(), "a.png");
}

TEST(ParseMessage, EmbeddedMessage) {
  std::string message =
      "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n"
      "Subject: inner\nContent-Type: multipart/mixed; boundary=c\n\n--c\n\nx\n--c--\n"
      "--b--\n";
  Part root = parse_checked(message);
  ASSERT_EQ(root.children.size(), 1U);
  const Part& forwarded = root.children[0];
  ASSERT_EQ(forwarded.children.size(), 1U);
  const Part& inner = forwarded.children[0];
  EXPECT_EQ(inner.headers.find("subject")->value(), "inner");
  ASSERT_EQ(inner.children.size(), 1U);
  EXPECT_EQ(inner.children[0].body.of(message), "x");
}

TEST(ParseMessage, EncodedEmbeddedMessageIsALeaf) {
  std::string message = "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA==\n";
  Part root = parse_checked(message);
  EXPECT_TRUE(root.children.empty());
  EXPECT_EQ(root.decoded_body(message), "Subject: x");
}

TEST(ParseMessage, DigestDefaultsToMessage) {
  std::string message =
      "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n--d\nContent-Type: text/plain\n\nx\n--d--\n";
  Part root = parse_checked(message);
  ASSERT_EQ(root.children.size(), 2U);
  EXPECT_TRUE(root.children[0].content_type.is("message", "rfc822"));
  ASSERT_EQ(root.children[0].children.size(), 1U);
  EXPECT_EQ(root.children[0].children[0].headers.find("subject")->value(), "one");
  EXPECT_TRUE(root.children[1].content_type.is("text", "plain"));
}

struct BrokenCase {
  const char* label;
  std::string message;
  Defect defect;
  std::size_t children;
};

class BrokenMime : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenMime, IsRepairedAndReported) {
  const BrokenCase& c = GetParam();
  Part root = parse_checked(c.message);
  EXPECT_TRUE(root.has(c.defect)) << to_string(c.defect);
  EXPECT_EQ(root.children.size(), c.children);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BrokenMime,
    ::testing::Values(
        BrokenCase{"missing_close", "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n",
                   Defect::missing_close_delimiter, 2},
        BrokenCase{"missing_boundary", "Content-Type: multipart/mixed\n\n--b\n\none\n--b--\n",
                   Defect::missing_boundary, 0},
        BrokenCase{"empty_boundary", "Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\none\n----\n",
                   Defect::missing_boundary, 0},
        BrokenCase{"no_delimiter", "Content-Type: multipart/mixed; boundary=b\n\njust text\n", Defect::no_delimiter, 0},
        BrokenCase{"only_close_delimiter", "Content-Type: multipart/mixed; boundary=b\n\n--b--\n",
                   Defect::no_delimiter, 0},
        BrokenCase{"invalid_content_type", "Content-Type: garbage\n\nbody\n", Defect::invalid_content_type, 0},
        BrokenCase{"header_not_terminated", "Subject: no body", Defect::header_not_terminated, 0},
        BrokenCase{"bad_header_line", "Subject: x\nthis is not a header\nmore\n", Defect::bad_header_line, 0},
        BrokenCase{"leading_junk", ">From mbox\nSubject: x\n\nbody", Defect::bad_header_line, 0}),
    [](const auto& test) { return std::string(test.param.label); });

TEST(ParseMessage, MissingCloseLastPartRunsToEnd) {
  std::string message = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n";
  Part root = parse_checked(message);
  ASSERT_EQ(root.children.size(), 2U);
  EXPECT_EQ(root.children[1].body.of(message), "two\n");
}

TEST(ParseMessage, BadHeaderLineStartsTheBody) {
  std::string message = "Subject: x\nthis is not a header\n\nmore\n";
  Part root = parse_checked(message);
  EXPECT_EQ(root.body.of(message), "this is not a header\n\nmore\n");
}

TEST(ParseMessage, NulAndEightBitJunk) {
  std::string message =
      "Subject: \xff\xfe\0\r\nContent-Type: multipart/mixed; boundary=\"\xe9\"\r\n\r\n--\xe9\r\n\r\n\0\0\x80\r\n--\xe9--"s;
  Part root = parse_checked(message);
  ASSERT_EQ(root.children.size(), 1U);
  EXPECT_EQ(root.children[0].body.of(message), "\0\0\x80"s);
}

std::string nested(std::size_t depth) {
  std::string message;
  for (std::size_t i = 0; i < depth; ++i) {
    message += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" +
               std::to_string(i) + "\r\n";
  }
  message += "\r\ninnermost\r\n";
  for (std::size_t i = depth; i-- > 0;) {
    message += "--b" + std::to_string(i) + "--\r\n";
  }
  return message;
}

TEST(ParseMessage, ThousandNestedMultipartsHitTheDepthLimit) {
  try {
    parse_message(nested(1000));
    FAIL() << "no LimitError";
  } catch (const LimitError& e) {
    EXPECT_STREQ(e.what(), "MIME nesting deeper than 100 levels");
  }
}

TEST(ParseMessage, NestingUpToTheLimitParses) {
  MimeLimits limits;
  limits.max_depth = 30;
  std::string message = nested(30);  // 30 multiparts and the text part: depth 30
  Part root = parse_checked(message, limits);
  const Part* part = &root;
  std::size_t depth = 0;
  while (!part->children.empty()) {
    part = &part->children[0];
    ++depth;
  }
  EXPECT_EQ(depth, 30U);
  EXPECT_EQ(part->body.of(message), "innermost");
  EXPECT_THROW(parse_message(nested(31), limits), LimitError);
}

TEST(ParseMessage, PartCountLimit) {
  std::string message = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 20; ++i) {
    message += "--b\n\npart\n";
  }
  message += "--b--\n";
  MimeLimits limits;
  limits.max_parts = 21;  // the root and 20 children
  EXPECT_EQ(parse_checked(message, limits).children.size(), 20U);
  limits.max_parts = 20;
  EXPECT_THROW(parse_message(message, limits), LimitError);
}

TEST(ParseMessage, HeaderLimitsApplyToParts) {
  std::string message = "Content-Type: multipart/mixed; boundary=b\n\n--b\nX: " + std::string(200, 'a') + "\n\n--b--\n";
  MimeLimits limits;
  limits.headers.max_line_length = 100;
  EXPECT_THROW(parse_message(message, limits), LimitError);
}

TEST(Part, FilenameSources) {
  auto filename_of = [](const std::string& headers) {
    std::string message = headers + "\n\nx";
    return parse_message(message).filename();
  };
  EXPECT_EQ(filename_of("Content-Disposition: attachment; filename=\"a.txt\""), "a.txt");
  EXPECT_EQ(filename_of("Content-Type: application/pdf; name=\"b.pdf\""), "b.pdf");
  EXPECT_EQ(filename_of("Content-Type: application/pdf; name=\"b.pdf\"\n"
                        "Content-Disposition: attachment; filename=c.pdf"),
            "c.pdf");
  EXPECT_EQ(filename_of("Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC.pdf"), "€.pdf");
  EXPECT_EQ(filename_of("Content-Disposition: attachment; filename=\"=?UTF-8?B?4oKs?=.pdf\""), "€.pdf");
  EXPECT_EQ(filename_of("Content-Type: text/plain"), "");
}

struct DecodeCase {
  const char* label;
  std::string encoding;
  std::string body;
  std::optional<std::string> decoded;
};

class DecodedBody : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(DecodedBody, UndoesTransferEncoding) {
  const DecodeCase& c = GetParam();
  std::string message = "Content-Transfer-Encoding: " + c.encoding + "\r\n\r\n" + c.body;
  EXPECT_EQ(parse_message(message).decoded_body(message), c.decoded);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DecodedBody,
    ::testing::Values(DecodeCase{"base64", "base64", "aGVs\r\nbG8=\r\n", "hello"},
                      DecodeCase{"base64_damaged", "base64", "aGVs*bG8=\r\n", std::nullopt},
                      DecodeCase{"quoted_printable", "Quoted-Printable", "caf=C3=A9=\r\n!\r\n", "café!\r\n"},
                      DecodeCase{"seven_bit", "7bit", "as is=41", "as is=41"},
                      DecodeCase{"eight_bit_with_comment", "8bit (comment)", "\xff", "\xff"},
                      DecodeCase{"binary", "binary", "\0\1"s, "\0\1"s},
                      DecodeCase{"empty_value", "", "x", "x"},
                      DecodeCase{"unknown", "x-uuencode", "begin 644 x", std::nullopt}),
    [](const auto& test) { return std::string(test.param.label); });

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Third-party vectors live beside the project in ../shared (see the README
// there); CI always has them, so a missing folder is a failure, not a skip.
const std::filesystem::path kInterop =
    std::filesystem::path(POSTERN_SOURCE_DIR) / ".." / "shared" / "testdata" / "interop" / "protected-headers";

TEST(Interop, EveryVectorParsesAndTilesExactly) {
  ASSERT_TRUE(std::filesystem::is_directory(kInterop)) << kInterop << " missing";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kInterop)) {
    std::string name = entry.path().filename().string();
    if (name.find(".eml") == std::string::npos && name.find(".inner") == std::string::npos) {
      continue;
    }
    SCOPED_TRACE(name);
    std::string message = read_file(entry.path());
    Part root = parse_checked(message);
    EXPECT_TRUE(root.defects.empty()) << to_string(root.defects.front());
    ++count;
  }
  EXPECT_GE(count, 20);
}

TEST(Interop, MultipartSigned) {
  ASSERT_TRUE(std::filesystem::is_directory(kInterop)) << kInterop << " missing";
  std::string message = read_file(kInterop / "smime-multipart-signed.eml");
  Part root = parse_message(message);
  EXPECT_TRUE(root.content_type.is("multipart", "signed"));
  EXPECT_EQ(*root.content_type.param("protocol"), "application/pkcs7-signature");
  EXPECT_EQ(*root.content_type.param("micalg"), "sha-256");
  ASSERT_EQ(root.children.size(), 2U);
  const Part& signed_part = root.children[0];
  EXPECT_EQ(*signed_part.content_type.param("protected-headers"), "v1");
  // What the signature covers: the first part exactly as on the wire.
  std::string_view covered = signed_part.whole().of(message);
  EXPECT_EQ(covered.substr(0, 13), "Content-Type:");
  EXPECT_EQ(covered.substr(covered.size() - 13), "Example Corp\n");
  const Part& signature = root.children[1];
  EXPECT_TRUE(signature.content_type.is("application", "pkcs7-signature"));
  EXPECT_EQ(signature.filename(), "smime.p7s");
  auto der = signature.decoded_body(message);
  ASSERT_TRUE(der.has_value());
  EXPECT_EQ(static_cast<unsigned char>((*der)[0]), 0x30);  // a DER SEQUENCE
}

TEST(Interop, PgpEncrypted) {
  ASSERT_TRUE(std::filesystem::is_directory(kInterop)) << kInterop << " missing";
  std::string message = read_file(kInterop / "unfortunately-complex.eml");
  Part root = parse_message(message);
  EXPECT_TRUE(root.content_type.is("multipart", "encrypted"));
  ASSERT_EQ(root.children.size(), 2U);
  EXPECT_EQ(root.children[0].body.of(message), "Version: 1\n");
  std::string_view armor = root.children[1].body.of(message);
  EXPECT_EQ(armor.substr(0, 27), "-----BEGIN PGP MESSAGE-----");
  EXPECT_EQ(armor.substr(armor.size() - 26), "-----END PGP MESSAGE-----\n");
}

}  // namespace
}  // namespace postern::mime
