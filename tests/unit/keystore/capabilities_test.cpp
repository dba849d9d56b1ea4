// KeyStore: the SMIMECapabilities a harvested signer announced, kept in the
// .meta sidecar and answered as EncryptionCertificate::supports_gcm (what
// postern-crypto's outbound.cipher: auto asks). Old sidecars stay readable.
#include <fstream>
#include <string>
#include <vector>

#include "store_fixture.hpp"

namespace postern::keystore::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> capabilities_of(const KeyStore& store, const std::string& fingerprint) {
  for (const auto& e : store.list()) {
    if (e.fingerprint == fingerprint && e.provenance) return e.provenance->capabilities;
  }
  return {"(not listed)"};
}

TEST_F(StoreTest, HarvestRecordsTheCapabilitiesAndSelectionAnswersSupportsGcm) {
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  ASSERT_TRUE(store.harvest(bob.cert.get(), "harvest:4Q1", {"aes256-gcm", "aes256-cbc"}));
  const auto meta = slurp(store.root() / "certs" / (bob.fingerprint() + ".meta"));
  EXPECT_THAT(meta, HasSubstr("capabilities: aes256-gcm,aes256-cbc\n"));
  EXPECT_THAT(capabilities_of(store, bob.fingerprint()), ElementsAre("aes256-gcm", "aes256-cbc"));
  auto s = store.select_encryption_certificate("bob@example.net");
  ASSERT_TRUE(s.best);
  EXPECT_TRUE(s.best->supports_gcm);

  auto carol = pki.issue({.emails = {"carol@example.net"}});
  ASSERT_TRUE(store.harvest(carol.cert.get(), "harvest:4Q2", {"aes256-cbc", "aes128-cbc"}));
  EXPECT_FALSE(store.select_encryption_certificate("carol@example.net").best->supports_gcm);
}

TEST_F(StoreTest, ALaterSignatureUpdatesTheCapabilitiesAndKeepsTheFirstRecord) {
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  add_other(bob);  // imported: no capabilities known
  EXPECT_FALSE(store.select_encryption_certificate("bob@example.net").best->supports_gcm);
  EXPECT_FALSE(store.harvest(bob.cert.get(), "harvest:4Q3", {"aes256-gcm"}));
  auto meta = slurp(store.root() / "certs" / (bob.fingerprint() + ".meta"));
  EXPECT_THAT(meta, HasSubstr("how: import\n"));
  EXPECT_THAT(meta, HasSubstr("capabilities: aes256-gcm\n"));
  EXPECT_TRUE(store.select_encryption_certificate("bob@example.net").best->supports_gcm);
  // A signature without the attribute changes nothing; a new list replaces the old.
  EXPECT_FALSE(store.harvest(bob.cert.get(), "harvest:4Q4", {}));
  EXPECT_TRUE(store.select_encryption_certificate("bob@example.net").best->supports_gcm);
  EXPECT_FALSE(store.harvest(bob.cert.get(), "harvest:4Q5", {"aes256-cbc"}));
  meta = slurp(store.root() / "certs" / (bob.fingerprint() + ".meta"));
  EXPECT_THAT(meta, HasSubstr("capabilities: aes256-cbc\n"));
  EXPECT_THAT(meta, Not(HasSubstr("aes256-gcm")));
  EXPECT_FALSE(store.select_encryption_certificate("bob@example.net").best->supports_gcm);
}

TEST_F(StoreTest, AnOldSidecarWithoutCapabilitiesIsReadAsUnknown) {
  auto bob = pki.issue({.emails = {"bob@example.net"}});
  ASSERT_TRUE(store.harvest(bob.cert.get(), "harvest:4Q6"));
  const auto meta_file = store.root() / "certs" / (bob.fingerprint() + ".meta");
  EXPECT_THAT(slurp(meta_file), Not(HasSubstr("capabilities")));
  std::ofstream(meta_file, std::ios::trunc) << "how: harvest\nsource: harvest:old\nadded: 2025-01-01T00:00:00Z\n";
  bool listed = false;
  for (const auto& e : store.list()) {
    if (e.fingerprint != bob.fingerprint()) continue;
    listed = true;
    ASSERT_TRUE(e.provenance);
    EXPECT_EQ(e.provenance->source, "harvest:old");
    EXPECT_TRUE(e.provenance->capabilities.empty());
  }
  EXPECT_TRUE(listed);
  auto s = store.select_encryption_certificate("bob@example.net");
  ASSERT_TRUE(s.best);
  EXPECT_FALSE(s.best->supports_gcm);
}

}  // namespace
}  // namespace postern::keystore::testing
