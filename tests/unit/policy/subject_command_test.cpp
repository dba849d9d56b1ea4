// {send_keys} commands: finding and removing them in a raw Subject value,
// and who may give them.
#include "postern/policy/subject_command.hpp"

#include <gtest/gtest.h>

#include "postern/mime/encoded_word.hpp"
#include "postern/mime/transfer_encoding.hpp"
#include "temp_dir.hpp"

namespace postern::policy {
namespace {

using plan::SendKeys;

SubjectCommand found(std::string_view raw) {
  auto cmd = find_subject_commands(raw);
  EXPECT_TRUE(cmd) << raw;
  return cmd.value_or(SubjectCommand{});
}

TEST(SubjectCommand, EachCommandAnyCase) {
  EXPECT_EQ(found(" {send_keys} hello").keys, SendKeys::all);
  EXPECT_EQ(found(" {SEND_KEYS_SMIME} hello").keys, SendKeys::smime);
  EXPECT_EQ(found(" {Send_Keys_Pgp} hello").keys, SendKeys::pgp);
  EXPECT_EQ(found(" {send_keys_smime}{send_keys_pgp} x").keys, SendKeys::all);
  EXPECT_EQ(found(" {send_keys_smime} x {send_keys_smime}").keys, SendKeys::smime);
  EXPECT_EQ(found(" {Send_Keys} x").found, std::vector<std::string>{"{Send_Keys}"});
}

TEST(SubjectCommand, NoCommandIsNothing) {
  EXPECT_FALSE(find_subject_commands(" hello"));
  EXPECT_FALSE(find_subject_commands(" {send_keys"));
  EXPECT_FALSE(find_subject_commands(" {send_keys_all}"));
  EXPECT_FALSE(find_subject_commands(" send_keys"));
  EXPECT_FALSE(find_subject_commands(""));
}

TEST(SubjectCommand, RemovalKeepsTheRestByteForByte) {
  EXPECT_EQ(found(" {send_keys} hello").value, " hello");
  EXPECT_EQ(found(" hello {send_keys} world").value, " hello world");
  EXPECT_EQ(found(" hello {send_keys}").value, " hello");
  EXPECT_EQ(found(" hello{send_keys}world").value, " helloworld");
  EXPECT_EQ(found(" Re:  two\tblanks {send_keys_smime}  kept").value, " Re:  two\tblanks  kept");
  EXPECT_EQ(found(" {send_keys}").value, " ");
  EXPECT_EQ(found(" a {send_keys} {send_keys_pgp} b").value, " a b");
  EXPECT_EQ(found(" =?utf-8?q?Gr=C3=BC=C3=9Fe?= {send_keys}\n\tfolded").value,
            " =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n\tfolded");
}

TEST(SubjectCommand, CommandInsideAnEncodedWordIsFoundAndTheSubjectReencoded) {
  // As a client writes it that encodes the whole Subject.
  const std::string raw = " =?UTF-8?B?" + mime::encode_base64("{send_keys} Gr\xC3\xBC\xC3\x9F" "e") + "?=";
  ASSERT_EQ(raw.find("{send_keys}"), std::string::npos) << raw;
  const SubjectCommand cmd = found(raw);
  EXPECT_EQ(cmd.keys, SendKeys::all);
  EXPECT_EQ(mime::decode_header_text(cmd.value), "Gr\xC3\xBC\xC3\x9F" "e");
}

class CommandTrust : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = Policy::load(dir_.write("policy.yaml",
                                      "direction:\n  internal_networks: [10.0.0.0/8]\n"
                                      "  outbound_listeners: [relay]\nrules: []\n"));
    env_.sender = "<alice@example.org>";
    env_.recipients = {"<bob@partner.example>"};
    env_.client_address = core::IpAddress::parse("192.0.2.7");
    env_.listener = "smtpd";
  }
  std::optional<std::string> refusal() const { return subject_command_refusal(policy_->subject(env_, facts_, "")); }

  testing::TempDir dir_;
  std::shared_ptr<const Policy> policy_;
  Envelope env_;
  MessageFacts facts_ = MessageFacts::from_message("Subject: {send_keys}\r\n\r\n");
};

TEST_F(CommandTrust, InternalClientIsHonoured) {
  env_.client_address = core::IpAddress::parse("10.1.2.3");
  EXPECT_EQ(refusal(), std::nullopt);
}

TEST_F(CommandTrust, AuthenticatedClientIsHonoured) {
  env_.auth_user = "alice";
  EXPECT_EQ(refusal(), std::nullopt);
}

TEST_F(CommandTrust, OutsideClientIsRefused) {
  const auto why = refusal();
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "inbound message");
}

TEST_F(CommandTrust, OutboundListenerAloneIsRefused) {
  env_.listener = "relay";
  ASSERT_EQ(policy_->subject(env_, facts_, "").direction, Direction::outbound);
  const auto why = refusal();
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("neither internal nor authenticated"), std::string::npos);
}

TEST_F(CommandTrust, AuthenticatedButNotOutboundIsRefused) {
  policy_ = Policy::load(dir_.write("policy.yaml", "direction:\n  authenticated_is_outbound: false\nrules: []\n"));
  env_.auth_user = "alice";
  EXPECT_EQ(refusal(), std::string("inbound message"));
}

}  // namespace
}  // namespace postern::policy
