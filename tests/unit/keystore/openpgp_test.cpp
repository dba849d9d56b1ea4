// KeyStore's OpenPGP answers (gpg::Keyring over GPGME) against keys made
// by the real gpg in a private GnuPG home.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "postern/gpg/keyring.hpp"
#include "postern/keystore/key_store.hpp"
#include "scratch.hpp"

namespace postern::keystore::testing {
namespace {

using lookup::KeyKind;
namespace fs = std::filesystem;

bool have_gpg() { return std::system("gpg --version >/dev/null 2>&1") == 0; }

class OpenPgp : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_gpg()) {
      if (const char* all = std::getenv("POSTERN_REQUIRE_ALL"); all != nullptr && std::string(all) == "1") {
        FAIL() << "gpg is missing and POSTERN_REQUIRE_ALL=1";
      }
      GTEST_SKIP() << "gpg is missing";
    }
    store.create_layout();
  }
  void TearDown() override {
    for (const fs::path& h : {home(), dir / "elsewhere"}) {
      if (fs::exists(h)) std::system(("gpgconf --homedir '" + h.string() + "' --kill all >/dev/null 2>&1").c_str());
    }
  }
  fs::path home() const { return store.root() / "gnupg"; }
  // gpg in `h`, no passphrase, quiet; true when it exits 0.
  static bool gpg(const fs::path& h, const std::string& args) {
    const std::string cmd = "gpg --batch --quiet --no-tty --homedir '" + h.string() +
                            "' --pinentry-mode loopback --passphrase '' " + args + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }
  static std::string fingerprint_of(const fs::path& h, const std::string& address) {
    const std::string out = (h.parent_path() / "fpr.txt").string();
    std::system(("gpg --batch --homedir '" + h.string() + "' --with-colons --list-keys '<" + address + ">' > '" + out +
                 "' 2>/dev/null")
                    .c_str());
    std::ifstream in(out);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("fpr:", 0) == 0) return line.substr(12, 40);
    }
    return {};
  }
  bool answer(const std::string& address, KeyKind kind) {
    auto r = store.has_usable_key(address, kind);
    EXPECT_FALSE(r.failed()) << r.error;
    return r.value.value_or(false);
  }

  Scratch dir;
  KeyStore store{dir.path() / "store"};
};

TEST_F(OpenPgp, AnEmptyKeyringHasNoKey) {
  EXPECT_FALSE(answer("alice@example.org", KeyKind::pgp_encrypt));
  EXPECT_FALSE(answer("alice@example.org", KeyKind::pgp_sign));
}

TEST_F(OpenPgp, OurOwnKeyEncryptsAndSigns) {
  ASSERT_TRUE(gpg(home(), "--quick-gen-key 'Alice <alice@example.org>' future-default default 1y"));
  EXPECT_TRUE(answer("alice@example.org", KeyKind::pgp_encrypt));
  EXPECT_TRUE(answer("Alice@Example.org", KeyKind::pgp_sign));
  EXPECT_FALSE(answer("alice@example.net", KeyKind::pgp_encrypt));
  EXPECT_FALSE(answer("lice@example.org", KeyKind::pgp_encrypt));  // a substring is no user id
}

TEST_F(OpenPgp, ASignOnlyKeyCannotBeEncryptedTo) {
  ASSERT_TRUE(gpg(home(), "--quick-gen-key 'Sam <sam@example.org>' ed25519 sign 1y"));
  EXPECT_FALSE(answer("sam@example.org", KeyKind::pgp_encrypt));
  EXPECT_TRUE(answer("sam@example.org", KeyKind::pgp_sign));
  gpg::Keyring ring(home());
  const auto keys = ring.keys_for("sam@example.org", gpg::Secret::no);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(gpg::why_unusable(keys[0], "sam@example.org", gpg::Use::encrypt), "no usable encryption subkey");
}

TEST_F(OpenPgp, SomeoneElsesPublicKeyEncryptsButDoesNotSign) {
  const fs::path other = dir / "elsewhere";
  fs::create_directories(other);
  ::chmod(other.c_str(), 0700);
  ASSERT_TRUE(gpg(other, "--quick-gen-key 'Bob <bob@example.net>' future-default default 1y"));
  ASSERT_TRUE(gpg(other, "--armor --output '" + (dir / "bob.asc").string() + "' --export bob@example.net"));
  ASSERT_TRUE(gpg(home(), "--import '" + (dir / "bob.asc").string() + "'"));
  EXPECT_TRUE(answer("bob@example.net", KeyKind::pgp_encrypt));
  EXPECT_FALSE(answer("bob@example.net", KeyKind::pgp_sign));
}

TEST_F(OpenPgp, ExpiredAndRevokedKeysAreNotUsable) {
  ASSERT_TRUE(gpg(home(),
                  "--faked-system-time 20200101T000000 --quick-gen-key 'Old <old@example.org>' "
                  "future-default default 1y"));
  EXPECT_FALSE(answer("old@example.org", KeyKind::pgp_encrypt));
  gpg::Keyring ring(home());
  auto keys = ring.keys_for("old@example.org", gpg::Secret::no);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(gpg::why_unusable(keys[0], "old@example.org", gpg::Use::encrypt), "expired");

  ASSERT_TRUE(gpg(home(), "--quick-gen-key 'Rev <rev@example.org>' future-default default 1y"));
  ASSERT_TRUE(answer("rev@example.org", KeyKind::pgp_encrypt));
  const std::string fpr = fingerprint_of(home(), "rev@example.org");
  ASSERT_EQ(fpr.size(), 40u);
  // gpg writes a revocation certificate for every new key, armour guarded by ':'.
  std::ifstream in(home() / "openpgp-revocs.d" / (fpr + ".rev"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (auto at = text.find(":-----BEGIN"); at != std::string::npos; at = text.find(":-----BEGIN")) text.erase(at, 1);
  std::ofstream(dir / "rev.asc") << text;
  ASSERT_TRUE(gpg(home(), "--import '" + (dir / "rev.asc").string() + "'"));
  EXPECT_FALSE(answer("rev@example.org", KeyKind::pgp_encrypt));
  EXPECT_FALSE(answer("rev@example.org", KeyKind::pgp_sign));
  keys = ring.keys_for("rev@example.org", gpg::Secret::no);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(gpg::why_unusable(keys[0], "rev@example.org", gpg::Use::encrypt), "revoked");
}

TEST_F(OpenPgp, ARevokedUserIdDoesNotCount) {
  ASSERT_TRUE(gpg(home(), "--quick-gen-key 'Two <two@example.org>' future-default default 1y"));
  const std::string fpr = fingerprint_of(home(), "two@example.org");
  ASSERT_TRUE(gpg(home(), "--quick-add-uid " + fpr + " 'Old Name <gone@example.org>'"));
  ASSERT_TRUE(answer("gone@example.org", KeyKind::pgp_encrypt));
  ASSERT_TRUE(gpg(home(), "--quick-revoke-uid " + fpr + " 'Old Name <gone@example.org>'"));
  EXPECT_FALSE(answer("gone@example.org", KeyKind::pgp_encrypt));
  EXPECT_TRUE(answer("two@example.org", KeyKind::pgp_encrypt));
}

TEST_F(OpenPgp, AnAddressThatCouldBeAPatternIsRefused) {
  auto r = store.has_usable_key("a b@example.org", KeyKind::pgp_encrypt);
  EXPECT_TRUE(r.failed());
  EXPECT_THROW(gpg::Keyring(home()).keys_for("x>@y", gpg::Secret::no), gpg::Error);
}

}  // namespace
}  // namespace postern::keystore::testing
