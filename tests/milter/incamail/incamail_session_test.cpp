// Connection-level behaviour the golden folders cannot express: several
// messages on one connection, aborts, close-only connections, RCPT ESMTP
// parameters, and the negotiated capabilities.
#include <gtest/gtest.h>

#include "postern/config/config.hpp"
#include "postern/incamail/incamail_filter.hpp"
#include "postern/incamail/settings.hpp"
#include "postern/log/log.hpp"
#include "postern/testing/milter_driver.hpp"
#include "postern/testing/recording_actions.hpp"

namespace postern::incamail {
namespace {

using milter::Status;
using testing::Envelope;
using testing::MilterDriver;

std::shared_ptr<const milter::Filter> filter(std::string_view yaml = "internal: {domains: [example.ch]}\n") {
  return build_filter(std::make_shared<const config::Config>(config::load_string(schema(), yaml, "test.yaml")));
}

Envelope internal_envelope() {
  Envelope e;
  e.client_address = "127.0.0.1";
  e.sender = "<alice@example.ch>";
  e.recipients = {"<bob@partner.example>", "<carol@example.ch>"};
  e.macros = {{"i", "4Q2x1B0kzNz"}};
  return e;
}

constexpr std::string_view kTagged = "From: alice@example.ch\r\nSubject: <im><c> Offerte\r\n\r\nHallo\r\n";
constexpr std::string_view kPlain = "From: alice@example.ch\r\nSubject: Offerte\r\n\r\nHallo\r\n";

class Quiet : public ::testing::Test {
 protected:
  void SetUp() override { log::init("postern-incamail", log::Sink::none); }
};

using IncaMailSession = Quiet;

TEST_F(IncaMailSession, NegotiatesOnlyWhatItNeeds) {
  milter::Capabilities c = filter()->capabilities();
  EXPECT_TRUE(c.connect.wanted && !c.connect.may_reply);
  EXPECT_FALSE(c.helo.wanted);
  EXPECT_TRUE(c.envfrom.wanted && !c.envfrom.may_reply);
  EXPECT_TRUE(c.envrcpt.wanted && !c.envrcpt.may_reply);
  EXPECT_FALSE(c.data.wanted);
  EXPECT_TRUE(c.header.wanted && !c.header.may_reply);
  EXPECT_TRUE(c.eoh.wanted && c.eoh.may_reply);
  EXPECT_TRUE(c.body.wanted && c.body.may_reply);
  EXPECT_FALSE(c.rejected_recipients);
  EXPECT_FALSE(c.change_body);
  EXPECT_FALSE(c.change_sender);
  EXPECT_FALSE(c.quarantine);
  EXPECT_TRUE(c.add_headers && c.change_headers && c.add_recipients && c.delete_recipients);
  EXPECT_EQ(c.macros.size(), 1u);
  EXPECT_EQ(c.macros[milter::Stage::envfrom],
            (std::vector<std::string>{"{auth_authen}", "{daemon_name}", "{cert_subject}", "{cert_issuer}"}));
}

TEST_F(IncaMailSession, SecondMessageStartsClean) {
  MilterDriver d(filter());
  d.open(internal_envelope());
  ASSERT_EQ(d.connect().status, Status::proceed);
  ASSERT_EQ(d.helo().status, Status::proceed);
  auto first = d.message(kTagged);
  EXPECT_EQ(first.verdict.status, Status::proceed);
  EXPECT_EQ(first.transcript,
            (std::vector<std::string>{
                R"(delete_recipient "<bob@partner.example>")",
                R"(add_recipient "<bob@partner.example.incamail.ch>" "ORCPT=rfc822;bob@partner.example")",
                "result: continue"}));
  // The same connection, untagged: nothing of the first message remains.
  auto second = d.message(kPlain);
  EXPECT_EQ(second.verdict.status, Status::accept);
  EXPECT_EQ(second.transcript, (std::vector<std::string>{"eoh: accept", "result: accept"}));
  d.close();
}

TEST_F(IncaMailSession, AbortForgetsTheMessage) {
  MilterDriver d(filter());
  d.open(internal_envelope());
  d.connect();
  d.helo();
  d.aborted_message(kTagged, 4);  // mail, two rcpts, first header
  auto next = d.message(kPlain);
  EXPECT_EQ(next.verdict.status, Status::accept);
  EXPECT_EQ(next.transcript, (std::vector<std::string>{"eoh: accept", "result: accept"}));
  d.close();
}

TEST_F(IncaMailSession, CloseOnlyConnection) {
  MilterDriver d(filter());
  d.open(internal_envelope());
  d.close();
  EXPECT_TRUE(d.transcript().empty());
}

TEST_F(IncaMailSession, NullHostAddressIsNotInternal) {
  Envelope e = internal_envelope();
  e.client_address = std::nullopt;
  MilterDriver d(filter("internal: {networks: ['0.0.0.0/0', '::/0'], domains: [example.ch]}\n"));
  auto r = d.run(e, kTagged);
  EXPECT_EQ(r.verdict.status, Status::accept);
  EXPECT_EQ(r.transcript, (std::vector<std::string>{"eoh: accept", "result: accept"}));
}

TEST_F(IncaMailSession, Ipv4MappedClientIsInternal) {
  Envelope e = internal_envelope();
  e.client_address = "::ffff:127.0.0.1";
  auto r = MilterDriver(filter()).run(e, kTagged);
  EXPECT_EQ(r.verdict.status, Status::proceed);
  EXPECT_EQ(r.transcript.size(), 3u);
}

// The driver passes RCPT TO without parameters; the session itself is
// given them here, as libmilter would.
TEST_F(IncaMailSession, KeepsNotifyAndOrcpt) {
  struct Case {
    std::vector<std::string> rcpt;
    std::string expected;
  };
  const Case cases[] = {
      {{"<bob@partner.example>", "NOTIFY=SUCCESS,FAILURE"},
       R"(add_recipient "<bob@partner.example.incamail.ch>" "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@partner.example")"},
      {{"<bob@partner.example>", "ORCPT=rfc822;Bob@Partner.Example", "NOTIFY=NEVER"},
       R"(add_recipient "<bob@partner.example.incamail.ch>" "ORCPT=rfc822;Bob@Partner.Example NOTIFY=NEVER")"},
      {{"<bob@partner.example>", "X-UNKNOWN=1"},
       R"(add_recipient "<bob@partner.example.incamail.ch>" "ORCPT=rfc822;bob@partner.example")"},
      {{"<\"bob+x=y z\"@partner.example>"},
       R"(add_recipient "<\"bob+x=y z\"@partner.example.incamail.ch>" "ORCPT=rfc822;\"bob+2Bx+3Dy+20z\"@partner.example")"},
  };
  auto f = filter();
  for (const auto& c : cases) {
    auto session = f->open_session();
    testing::RecordingActions actions(f->capabilities());
    actions.set_macros({{"i", "4Q2x1B0kzNz"}});
    milter::ConnectInfo info;
    info.address = "127.0.0.1";
    info.family = milter::ConnectInfo::Family::inet;
    session->on_connect(info, actions);
    session->on_mail({"<alice@example.ch>"}, actions);
    session->on_rcpt(c.rcpt, actions);
    session->on_header("Subject", " <im><p> Lohn", actions);
    EXPECT_EQ(session->on_eoh(actions).status, Status::proceed);
    EXPECT_EQ(session->on_body("x\r\n", actions).status, Status::proceed);
    actions.set_in_eom(true);
    EXPECT_EQ(session->on_eom(actions).status, Status::proceed);
    ASSERT_EQ(actions.transcript().size(), 2u);
    EXPECT_EQ(actions.transcript()[0], "delete_recipient " + testing::quote(c.rcpt[0]));
    EXPECT_EQ(actions.transcript()[1], c.expected);
    session->on_close();
  }
}

}  // namespace
}  // namespace postern::incamail
