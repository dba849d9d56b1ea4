// Plans from postern-policy: a sealed X-Postern-Plan that asks for IncaMail
// routes the plan's recipients from any sender; the IncaMail part is taken
// out of the plan and the rest is sealed again for the milters after this
// one; plans that do not verify stop the message with 451.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "postern/config/config.hpp"
#include "postern/core/error.hpp"
#include "postern/incamail/incamail_filter.hpp"
#include "postern/incamail/settings.hpp"
#include "postern/log/log.hpp"
#include "postern/plan/sealer.hpp"
#include "postern/testing/milter_driver.hpp"

namespace postern::incamail {
namespace {

using milter::Status;
using testing::Envelope;
using testing::MilterDriver;

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::init("postern-incamail", log::Sink::none);
    char tmpl[] = "/tmp/postern-incamail-plan-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    secret_ = dir_ / "plan.secret";
    write_secret(secret_, "0123456789abcdef0123456789abcdef-test-secret", 0600);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void write_secret(const std::filesystem::path& path, const std::string& bytes, mode_t mode) {
    std::ofstream(path) << bytes;
    ::chmod(path.c_str(), mode);
  }

  // plan_extra: further keys of the plan section, e.g. ", max_age: 1h".
  std::shared_ptr<const milter::Filter> filter(const std::string& plan_extra = "") const {
    const std::string yaml =
        "internal: {domains: [example.ch]}\nplan: {secret_file: " + secret_.string() + plan_extra + "}\n";
    return build_filter(std::make_shared<const config::Config>(config::load_string(schema(), yaml, "test.yaml")));
  }

  plan::Sealer sealer() const { return plan::Sealer(plan::Secret::load(secret_), {}); }

  // A message with the sealed plan as its first header, folded for SMTP.
  static std::string message_with(const std::string& sealed, std::string_view subject = "Offerte") {
    std::string folded;
    for (char c : sealed) {
      if (c == '\n') folded += '\r';
      folded += c;
    }
    return "X-Postern-Plan: " + folded + "\r\nFrom: alice@example.ch\r\nSubject: " + std::string(subject) +
           "\r\n\r\nHallo\r\n";
  }

  // An outside sender: no internal network, no SASL, no listener.
  static Envelope outside_envelope() {
    Envelope e;
    e.client_address = "198.51.100.20";
    e.sender = "<alice@example.ch>";
    e.recipients = {"<bob@partner.example>", "<carol@example.ch>"};
    e.macros = {{"i", "4Q2x1B0kzNz"}};
    return e;
  }

  static plan::Plan incamail_plan(plan::IncaMailType type) {
    plan::Plan p;
    p.recipients = {"<bob@partner.example>", "<carol@example.ch>"};
    p.incamail = type;
    p.sign = true;
    return p;
  }

  // The value of the change_header line for X-Postern-Plan, unquoted.
  static std::optional<std::string> resealed(const std::vector<std::string>& transcript) {
    const std::string prefix = "change_header \"X-Postern-Plan\" 1 \"";
    for (const auto& line : transcript) {
      if (line.rfind(prefix, 0) != 0) continue;
      std::string v = line.substr(prefix.size(), line.size() - prefix.size() - 1);
      std::string out;
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
          const char n = v[++i];
          out += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;
        } else {
          out += v[i];
        }
      }
      return out;
    }
    return std::nullopt;
  }

  std::filesystem::path dir_;
  std::filesystem::path secret_;
};

TEST_F(PlanTest, PlanRoutesExternalRecipientsFromAnySenderAndTagsTheSubject) {
  plan::Sealer s = sealer();
  const std::string sealed = s.seal(incamail_plan(plan::IncaMailType::personal), plan::Sealer::Clock::now());
  MilterDriver d(filter());
  d.open(outside_envelope());
  auto r = d.message(message_with(sealed));
  EXPECT_EQ(r.verdict.status, Status::proceed);
  const auto& t = r.transcript;
  EXPECT_NE(std::find(t.begin(), t.end(), R"(change_header "Subject" 1 " <im><p> Offerte")"), t.end());
  EXPECT_NE(std::find(t.begin(), t.end(), R"(delete_recipient "<bob@partner.example>")"), t.end());
  EXPECT_NE(std::find(t.begin(), t.end(),
                      R"(add_recipient "<bob@partner.example.incamail.ch>" "ORCPT=rfc822;bob@partner.example")"),
            t.end());
  // The internal recipient stays.
  for (const auto& line : t) EXPECT_EQ(line.find("carol@example.ch.incamail.ch"), std::string::npos) << line;

  // What is left of the plan verifies under the same secret, keeps the
  // rest of the plan and no longer asks for IncaMail.
  const auto value = resealed(t);
  ASSERT_TRUE(value.has_value());
  plan::Sealer downstream = sealer();
  const plan::Verdict v = downstream.verify(*value, plan::Sealer::Clock::now());
  ASSERT_TRUE(v.ok()) << plan::to_string(v.refusal);
  EXPECT_EQ(v.plan.plan.incamail, plan::IncaMailType::none);
  EXPECT_TRUE(v.plan.plan.sign);
  EXPECT_EQ(v.plan.plan.recipients, incamail_plan(plan::IncaMailType::personal).recipients);
}

TEST_F(PlanTest, ExistingValidTagWinsOverThePlansType) {
  plan::Sealer s = sealer();
  const std::string sealed = s.seal(incamail_plan(plan::IncaMailType::confidential), plan::Sealer::Clock::now());
  MilterDriver d(filter());
  d.open(outside_envelope());
  auto r = d.message(message_with(sealed, "<im><r> Vertrag"));
  EXPECT_EQ(r.verdict.status, Status::proceed);
  for (const auto& line : r.transcript) {
    EXPECT_EQ(line.rfind("change_header \"Subject\"", 0), std::string::npos) << line;
  }
  EXPECT_NE(std::find(r.transcript.begin(), r.transcript.end(), R"(delete_recipient "<bob@partner.example>")"),
            r.transcript.end());
}

TEST_F(PlanTest, ForgedPlanIsTempfailed) {
  // Sealed under another secret: the MAC does not match.
  const auto other = dir_ / "other.secret";
  write_secret(other, "another-secret-another-secret-another-secret", 0600);
  plan::Sealer forger(plan::Secret::load(other), {});
  const std::string sealed = forger.seal(incamail_plan(plan::IncaMailType::confidential), plan::Sealer::Clock::now());
  MilterDriver d(filter());
  d.open(outside_envelope());
  auto r = d.message(message_with(sealed));
  EXPECT_EQ(r.verdict.status, Status::tempfail);
  for (const auto& line : r.transcript) EXPECT_EQ(line.find("add_recipient"), std::string::npos) << line;
}

TEST_F(PlanTest, ReplayedPlanIsTempfailed) {
  plan::Sealer s = sealer();
  const std::string sealed = s.seal(incamail_plan(plan::IncaMailType::confidential), plan::Sealer::Clock::now());
  MilterDriver d(filter());
  d.open(outside_envelope());
  EXPECT_EQ(d.message(message_with(sealed)).verdict.status, Status::proceed);
  EXPECT_EQ(d.message(message_with(sealed)).verdict.status, Status::tempfail);
}

TEST_F(PlanTest, StalePlanIsTempfailed) {
  plan::Sealer s = sealer();
  const std::string sealed = s.seal(incamail_plan(plan::IncaMailType::confidential),
                                    plan::Sealer::Clock::now() - std::chrono::hours(2));
  MilterDriver d(filter(", max_age: 1h"));
  d.open(outside_envelope());
  EXPECT_EQ(d.message(message_with(sealed)).verdict.status, Status::tempfail);
}

TEST_F(PlanTest, PlanWithoutIncaMailIsLeftForTheNextMilter) {
  plan::Plan p = incamail_plan(plan::IncaMailType::none);
  plan::Sealer s = sealer();
  const std::string sealed = s.seal(p, plan::Sealer::Clock::now());
  MilterDriver d(filter());
  d.open(outside_envelope());
  auto r = d.message(message_with(sealed, "<im><c> Offerte"));
  // An outside sender's tag does nothing, and the plan is not touched.
  EXPECT_EQ(r.verdict.status, Status::accept);
  for (const auto& line : r.transcript) EXPECT_EQ(line.find("X-Postern-Plan"), std::string::npos) << line;
}

TEST_F(PlanTest, WithoutSecretPlansAreNotRead) {
  plan::Sealer s = sealer();
  const std::string sealed = s.seal(incamail_plan(plan::IncaMailType::confidential), plan::Sealer::Clock::now());
  MilterDriver d(build_filter(std::make_shared<const config::Config>(
      config::load_string(schema(), "internal: {domains: [example.ch]}\n", "test.yaml"))));
  d.open(outside_envelope());
  auto r = d.message(message_with(sealed));
  EXPECT_EQ(r.verdict.status, Status::accept);
}

TEST_F(PlanTest, TwoPlanHeadersAreTempfailed) {
  plan::Sealer s = sealer();
  const std::string a = s.seal(incamail_plan(plan::IncaMailType::confidential), plan::Sealer::Clock::now());
  const std::string b = s.seal(incamail_plan(plan::IncaMailType::personal), plan::Sealer::Clock::now());
  std::string msg = message_with(a);
  msg.insert(0, message_with(b).substr(0, message_with(b).find("\r\nFrom:") + 2));
  MilterDriver d(filter());
  d.open(outside_envelope());
  EXPECT_EQ(d.message(msg).verdict.status, Status::tempfail);
}

TEST_F(PlanTest, ReadableSecretIsAConfigError) {
  ::chmod(secret_.c_str(), 0644);
  EXPECT_THROW(filter(), core::ConfigError);
}

}  // namespace
}  // namespace postern::incamail
