#include "postern/plan/plan.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace postern::plan {
namespace {

const Stamp kStamp{1700000000, "0123456789abcdef0123456789abcdef"};

Plan full_plan() {
  Plan p;
  p.recipients = {"a@example.org", "\"odd % name\"@example.org"};
  p.encrypt = EncryptMethod::automatic;
  p.fallback = EncryptFallback::incamail;
  p.sign = true;
  p.decrypt = true;
  p.verify = true;
  p.incamail = IncaMailType::registered;
  p.add_headers = {{"X-Note", "line one\r\n\tfolded, 100% \xc3\xa9"}, {"X-Empty", ""}};
  p.remove_headers = {"X-Spam-Flag"};
  p.subject_tag = "[secure]";
  p.cipher = ContentCipher::gcm;
  p.revocation = Revocation::hard_fail;
  p.remove_signature = true;
  p.security_tags = {"[decrypted]", "[signed]", "[bad signature]"};
  p.send_keys = SendKeys::all;
  return p;
}

struct RoundTrip {
  const char* label;
  Plan plan;
};

class PlanRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(PlanRoundTrip, DecodeGivesBackPlanAndStamp) {
  const auto payload = encode_payload(GetParam().plan, kStamp);
  const auto back = decode_payload(payload);
  ASSERT_TRUE(back.has_value()) << payload;
  EXPECT_EQ(back->plan, GetParam().plan);
  EXPECT_EQ(back->stamp, kStamp);
}

Plan only(void (*edit)(Plan&)) {
  Plan p;
  p.recipients = {"r@example.org"};
  edit(p);
  return p;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PlanRoundTrip,
    ::testing::Values(RoundTrip{"minimal", only([](Plan&) {})}, RoundTrip{"full", full_plan()},
                      RoundTrip{"smime_bounce", only([](Plan& p) { p.encrypt = EncryptMethod::smime; })},
                      RoundTrip{"pgp_hold",
                                only([](Plan& p) {
                                  p.encrypt = EncryptMethod::pgp;
                                  p.fallback = EncryptFallback::hold;
                                })},
                      RoundTrip{"incamail_c", only([](Plan& p) { p.incamail = IncaMailType::confidential; })},
                      RoundTrip{"incamail_p", only([](Plan& p) { p.incamail = IncaMailType::personal; })},
                      RoundTrip{"revocation_off", only([](Plan& p) { p.revocation = Revocation::off; })},
                      RoundTrip{"revocation_soft", only([](Plan& p) { p.revocation = Revocation::soft_fail; })},
                      RoundTrip{"cbc",
                                only([](Plan& p) {
                                  p.encrypt = EncryptMethod::smime;
                                  p.cipher = ContentCipher::cbc;
                                })},
                      RoundTrip{"one_tag", only([](Plan& p) { p.security_tags.signature_invalid = "[unsigned?]"; })},
                      RoundTrip{"send_smime_keys", only([](Plan& p) { p.send_keys = SendKeys::smime; })},
                      RoundTrip{"header_value_with_colon", only([](Plan& p) { p.add_headers = {{"X-A", "b: c"}}; })}),
    [](const auto& case_info) { return std::string(case_info.param.label); });

TEST(PlanPayload, WritesOneEscapedLinePerField) {
  Plan p;
  p.recipients = {"a@b"};
  p.subject_tag = "50%\n";
  EXPECT_EQ(encode_payload(p, kStamp), "t=1700000000\nn=0123456789abcdef0123456789abcdef\nr=a@b\ng=50%25%0A\n");
}

struct BadPlan {
  const char* label;
  Plan plan;
  Stamp stamp;
};

class PlanEncodeRefused : public ::testing::TestWithParam<BadPlan> {};

TEST_P(PlanEncodeRefused, Throws) {
  EXPECT_THROW(encode_payload(GetParam().plan, GetParam().stamp), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PlanEncodeRefused,
    ::testing::Values(BadPlan{"no_recipients", Plan{}, kStamp},
                      BadPlan{"empty_recipient", only([](Plan& p) { p.recipients.push_back(""); }), kStamp},
                      BadPlan{"short_nonce", only([](Plan&) {}), Stamp{1, "abc"}},
                      BadPlan{"uppercase_nonce", only([](Plan&) {}), Stamp{1, "0123456789ABCDEF0123456789ABCDEF"}},
                      BadPlan{"header_name_colon", only([](Plan& p) { p.add_headers = {{"X:Y", "v"}}; }), kStamp},
                      BadPlan{"header_name_space", only([](Plan& p) { p.add_headers = {{"X Y", "v"}}; }), kStamp},
                      BadPlan{"empty_header_name", only([](Plan& p) { p.add_headers = {{"", "v"}}; }), kStamp},
                      BadPlan{"remove_bad_name", only([](Plan& p) { p.remove_headers = {"X\nY"}; }), kStamp}),
    [](const auto& case_info) { return std::string(case_info.param.label); });

struct BadPayload {
  const char* label;
  std::string payload;
};

class PlanDecodeRefused : public ::testing::TestWithParam<BadPayload> {};

TEST_P(PlanDecodeRefused, GivesNothing) { EXPECT_FALSE(decode_payload(GetParam().payload).has_value()); }

const std::string kHead = "t=1700000000\nn=0123456789abcdef0123456789abcdef\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, PlanDecodeRefused,
    ::testing::Values(BadPayload{"empty", ""}, BadPayload{"no_final_newline", kHead + "r=a@b"},
                      BadPayload{"no_recipient", kHead},
                      BadPayload{"no_time", "n=0123456789abcdef0123456789abcdef\nr=a@b\n"},
                      BadPayload{"no_nonce", "t=1\nr=a@b\n"}, BadPayload{"unknown_key", kHead + "r=a@b\nz=1\n"},
                      BadPayload{"repeated_time", kHead + "t=1\nr=a@b\n"},
                      BadPayload{"repeated_sign", kHead + "r=a@b\ns=1\ns=1\n"},
                      BadPayload{"negative_time", "t=-1\nn=0123456789abcdef0123456789abcdef\nr=a@b\n"},
                      BadPayload{"leading_zero_time", "t=01\nn=0123456789abcdef0123456789abcdef\nr=a@b\n"},
                      BadPayload{"time_not_number", "t=1x\nn=0123456789abcdef0123456789abcdef\nr=a@b\n"},
                      BadPayload{"empty_line", kHead + "\nr=a@b\n"}, BadPayload{"no_equals", kHead + "ra@b\n"},
                      BadPayload{"empty_recipient", kHead + "r=\n"},
                      BadPayload{"encrypt_without_fallback", kHead + "r=a@b\ne=smime\n"},
                      BadPayload{"fallback_without_encrypt", kHead + "r=a@b\nf=hold\n"},
                      BadPayload{"encrypt_none", kHead + "r=a@b\ne=none\nf=hold\n"},
                      BadPayload{"cipher_without_encrypt", kHead + "r=a@b\nc=gcm\n"},
                      BadPayload{"cipher_auto", kHead + "r=a@b\ne=smime\nf=hold\nc=auto\n"},
                      BadPayload{"cipher_unknown", kHead + "r=a@b\ne=smime\nf=hold\nc=des\n"},
                      BadPayload{"revocation_inherit", kHead + "r=a@b\no=inherit\n"},
                      BadPayload{"revocation_unknown", kHead + "r=a@b\no=maybe\n"},
                      BadPayload{"unwrap_without_verify", kHead + "r=a@b\nu=1\n"},
                      BadPayload{"unwrap_not_one", kHead + "r=a@b\nv=1\nu=yes\n"},
                      BadPayload{"empty_security_tag", kHead + "r=a@b\nS=\n"},
                      BadPayload{"repeated_tag", kHead + "r=a@b\nB=x\nB=y\n"},
                      BadPayload{"send_keys_none", kHead + "r=a@b\nk=none\n"},
                      BadPayload{"bad_method", kHead + "r=a@b\ne=rot13\nf=hold\n"},
                      BadPayload{"sign_not_1", kHead + "r=a@b\ns=yes\n"},
                      BadPayload{"incamail_x", kHead + "r=a@b\ni=x\n"},
                      BadPayload{"header_without_colon", kHead + "r=a@b\na=X-A\n"},
                      BadPayload{"bad_escape", kHead + "r=a%zz@b\n"}, BadPayload{"truncated_escape", kHead + "r=a%4\n"},
                      BadPayload{"escaped_printable", kHead + "r=%41@b\n"},
                      BadPayload{"lowercase_escape", kHead + "r=a%0a@b\n"},
                      BadPayload{"raw_control", kHead + "r=a\t@b\n"}, BadPayload{"empty_tag", kHead + "r=a@b\ng=\n"}),
    [](const auto& case_info) { return std::string(case_info.param.label); });

TEST(PlanNames, ParseWhatToStringWrites) {
  for (auto m : {EncryptMethod::none, EncryptMethod::smime, EncryptMethod::pgp, EncryptMethod::automatic}) {
    EXPECT_EQ(parse_encrypt_method(to_string(m)), m);
  }
  for (auto f : {EncryptFallback::bounce, EncryptFallback::hold, EncryptFallback::incamail}) {
    EXPECT_EQ(parse_encrypt_fallback(to_string(f)), f);
  }
  for (auto t : {IncaMailType::none, IncaMailType::confidential, IncaMailType::personal, IncaMailType::registered}) {
    EXPECT_EQ(parse_incamail_type(to_string(t)), t);
  }
  EXPECT_FALSE(parse_encrypt_method("SMIME").has_value());
}

}  // namespace
}  // namespace postern::plan
