#include "postern/plan/sealer.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <array>
#include <stdexcept>

#include "postern/mime/transfer_encoding.hpp"
#include "secret_file.hpp"

namespace postern::plan {
namespace {

using Clock = Sealer::Clock;
using std::chrono::seconds;

const std::string kKey = "0123456789abcdef0123456789abcdef-test-key";
const Clock::time_point kNow{seconds(1700000000)};

Sealer make_sealer(std::string_view key = kKey, Sealer::Options options = {}) {
  testing::SecretFile file("sealer", key);
  return Sealer(Secret::load(file.path()), options);
}

Plan sample() {
  Plan p;
  p.recipients = {"a@example.org"};
  p.encrypt = EncryptMethod::smime;
  p.fallback = EncryptFallback::hold;
  p.sign = true;
  return p;
}

std::string unfold(std::string_view v) {
  std::string s;
  for (char c : v) {
    if (c != '\n' && c != '\t') s += c;
  }
  return s;
}

std::string b64url(std::string_view bytes) {
  std::string s = mime::encode_base64(bytes);
  std::erase(s, '=');
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

// The value a holder of the key would write for this payload text: lets a
// test authenticate payloads the encoder never produces.
std::string sealed_by_hand(std::string_view payload, std::string_view key = kKey) {
  const std::string encoded = b64url(payload);
  const std::string text = "X-Postern-Plan:1." + encoded;
  std::array<unsigned char, 32> mac{};
  std::size_t len = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                      reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac.data(), mac.size(), &len),
            nullptr);
  return "1." + encoded + "." + b64url(std::string_view(reinterpret_cast<const char*>(mac.data()), len));
}

TEST(Sealer, VerifiesWhatItSealed) {
  Sealer s = make_sealer();
  const std::string value = s.seal(sample(), kNow);
  const Verdict v = s.verify(value, kNow + seconds(5));
  ASSERT_TRUE(v.ok()) << to_string(v.refusal);
  EXPECT_EQ(v.plan.plan, sample());
  EXPECT_EQ(v.plan.stamp.time, 1700000000);
  EXPECT_EQ(v.plan.stamp.nonce.size(), 32u);
}

TEST(Sealer, AnotherProcessWithTheSameKeyVerifies) {
  const std::string value = make_sealer().seal(sample(), kNow);
  EXPECT_TRUE(make_sealer().verify(value, kNow).ok());
}

TEST(Sealer, EachSealHasItsOwnNonce) {
  Sealer s = make_sealer();
  EXPECT_NE(s.seal(sample(), kNow), s.seal(sample(), kNow));
}

TEST(Sealer, FoldsLongValuesIntoShortLines) {
  Plan p = sample();
  for (int i = 0; i < 50; ++i) p.recipients.push_back("user" + std::to_string(i) + "@example.org");
  Sealer s = make_sealer();
  const std::string value = s.seal(p, kNow);
  std::size_t line_start = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || value[i] == '\n') {
      EXPECT_LE(i - line_start, kFoldWidth + 1);  // +1: the tab that opens a continuation
      line_start = i + 1;
    }
  }
  EXPECT_NE(value.find("\n\t"), std::string::npos);
  EXPECT_EQ(s.verify(value, kNow).plan.plan, p);
}

TEST(Sealer, RefusesToSealWhatWouldBeTooLong) {
  Plan p = sample();
  for (int i = 0; i < 2000; ++i) p.recipients.push_back("someone.with.a.long.name" + std::to_string(i) + "@example.org");
  EXPECT_THROW(make_sealer().seal(p, kNow), std::length_error);
}

TEST(Sealer, AcceptsAHandSealedValue) {
  // Pins the wire format: version, base64url payload, HMAC over header name and both.
  Sealer s = make_sealer();
  const auto v = s.verify(sealed_by_hand("t=1700000000\nn=0123456789abcdef0123456789abcdef\nr=a@b\ns=1\n"), kNow);
  ASSERT_TRUE(v.ok()) << to_string(v.refusal);
  EXPECT_TRUE(v.plan.plan.sign);
}

struct Refused {
  const char* label;
  std::string (*value)(Sealer&);
  Refusal refusal;
};

std::string good(Sealer& s) { return unfold(s.seal(sample(), kNow)); }

class SealerRefuses : public ::testing::TestWithParam<Refused> {};

TEST_P(SealerRefuses, WithTheTypedReason) {
  Sealer s = make_sealer();
  const std::string value = GetParam().value(s);
  EXPECT_EQ(s.verify(value, kNow).refusal, GetParam().refusal) << value;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SealerRefuses,
    ::testing::Values(
        Refused{"empty", [](Sealer&) { return std::string(); }, Refusal::malformed},
        Refused{"spaces", [](Sealer&) { return std::string(" \t "); }, Refusal::malformed},
        Refused{"garbage", [](Sealer&) { return std::string("hello"); }, Refusal::malformed},
        Refused{"too_long", [](Sealer&) { return std::string(kMaxValueBytes + 1, 'A'); }, Refusal::malformed},
        Refused{"version_2",
                [](Sealer& s) {
                  auto v = good(s);
                  v[0] = '2';
                  return v;
                },
                Refusal::unsupported_version},
        Refused{"payload_only", [](Sealer& s) { auto v = good(s); return v.substr(0, v.rfind('.')); },
                Refusal::unsigned_plan},
        Refused{"empty_mac", [](Sealer& s) { auto v = good(s); return v.substr(0, v.rfind('.') + 1); },
                Refusal::unsigned_plan},
        Refused{"version_only", [](Sealer&) { return std::string("1"); }, Refusal::malformed},
        Refused{"empty_payload", [](Sealer&) { return std::string("1..AAAA"); }, Refusal::malformed},
        Refused{"bad_base64_payload", [](Sealer&) { return std::string("1.a*b.AAAA"); }, Refusal::malformed},
        Refused{"standard_alphabet", [](Sealer&) { return std::string("1.ab+/.AAAA"); }, Refusal::malformed},
        Refused{"non_canonical_mac",
                [](Sealer& s) {
                  // Same MAC bytes, but the unused low bits of the last character set.
                  auto v = good(s);
                  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                  const auto pos = alphabet.find(v.back());
                  v.back() = alphabet[(pos & ~std::size_t{3}) | ((pos + 1) & 3)];
                  return v;
                },
                Refusal::malformed},
        Refused{"four_parts", [](Sealer& s) { return good(s) + ".AAAA"; }, Refusal::malformed},
        Refused{"bad_base64_mac", [](Sealer& s) { auto v = good(s); return v.substr(0, v.rfind('.') + 1) + "!!"; },
                Refusal::malformed},
        Refused{"flipped_mac",
                [](Sealer& s) {
                  auto v = good(s);
                  v[v.size() - 2] = v[v.size() - 2] == 'A' ? 'B' : 'A';
                  return v;
                },
                Refusal::forged},
        Refused{"short_mac",
                [](Sealer& s) {
                  auto v = good(s);
                  return v.substr(0, v.rfind('.') + 1) + b64url(std::string(16, '\0'));
                },
                Refusal::forged},
        Refused{"swapped_payload",
                [](Sealer& s) {
                  // The MAC of one plan on the payload of another.
                  const auto a = good(s);
                  Plan other = sample();
                  other.recipients = {"attacker@example.net"};
                  const auto b = unfold(s.seal(other, kNow));
                  return b.substr(0, b.rfind('.')) + a.substr(a.rfind('.'));
                },
                Refusal::forged},
        Refused{"other_key", [](Sealer&) { return unfold(make_sealer(std::string(40, 'z')).seal(sample(), kNow)); },
                Refusal::forged},
        Refused{"authenticated_garbage", [](Sealer&) { return sealed_by_hand("t=1\nr=a@b\n"); }, Refusal::malformed},
        Refused{"stale", [](Sealer& s) { return s.seal(sample(), kNow - seconds(601)); }, Refusal::stale},
        Refused{"future", [](Sealer& s) { return s.seal(sample(), kNow + seconds(61)); }, Refusal::future},
        Refused{"replayed",
                [](Sealer& s) {
                  const auto v = s.seal(sample(), kNow);
                  EXPECT_TRUE(s.verify(v, kNow).ok());
                  return v;
                },
                Refusal::replayed}),
    [](const auto& case_info) { return std::string(case_info.param.label); });

TEST(Sealer, EveryOneCharacterChangeIsRefused) {
  // No single substituted, dropped or inserted character yields a plan.
  Sealer s = make_sealer();
  const std::string value = good(s);
  for (std::size_t i = 0; i < value.size(); ++i) {
    for (char c : {'A', '_', '.', '0'}) {
      if (value[i] == c) continue;
      std::string changed = value;
      changed[i] = c;
      EXPECT_FALSE(s.verify(changed, kNow).ok()) << changed;
    }
    std::string dropped = value;
    dropped.erase(i, 1);
    EXPECT_FALSE(s.verify(dropped, kNow).ok()) << dropped;
  }
  std::string folded = value;
  folded.insert(10, "\r\n ");
  EXPECT_TRUE(s.verify(folded, kNow).ok());  // folding whitespace is not content
}

TEST(Sealer, AgeLimitsAreInclusiveAndConfigurable) {
  Sealer s = make_sealer(kKey, {.max_age = seconds(30), .max_skew = seconds(5)});
  EXPECT_TRUE(s.verify(s.seal(sample(), kNow - seconds(30)), kNow).ok());
  EXPECT_EQ(s.verify(s.seal(sample(), kNow - seconds(31)), kNow).refusal, Refusal::stale);
  EXPECT_TRUE(s.verify(s.seal(sample(), kNow + seconds(5)), kNow).ok());
  EXPECT_EQ(s.verify(s.seal(sample(), kNow + seconds(6)), kNow).refusal, Refusal::future);
}

TEST(Sealer, RefusalNamesAreStable) {
  EXPECT_STREQ(to_string(Refusal::unsigned_plan), "unsigned");
  EXPECT_STREQ(to_string(Refusal::unsupported_version), "unsupported-version");
  EXPECT_STREQ(to_string(Refusal::replayed), "replayed");
}

}  // namespace
}  // namespace postern::plan
