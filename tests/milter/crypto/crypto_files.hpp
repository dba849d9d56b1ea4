// NAME
//   crypto_files - the plan key, key store and filter that every in-process
//   postern-crypto test sets up
// SUMMARY
//   CryptoFiles files(dir, pki);        // dir/plan.key, dir/store trusting pki
//   files.import(alice.pkcs12("pw", pki.chain()), {.password = std::string("pw")});
//   auto f = files.filter("revocation: {mode: off}\n");
//   std::string msg = "X-Postern-Plan: " + files.sealed(plan) + "\r\nFrom: ...";
// DESCRIPTION
//   In an existing folder (the test's own, removed by the test): a plan key
//   (0600) and a key store that trusts `pki`'s root and holds its
//   intermediate. filter() builds postern-crypto's filter over both, with
//   more YAML appended; sealed() is a plan sealed with the key and folded
//   with CRLF, as it stands in an X-Postern-Plan header.
// THREADS
//   One test thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "postern/config/config.hpp"
#include "postern/crypto/crypto_filter.hpp"
#include "postern/crypto/settings.hpp"
#include "postern/keystore/key_store.hpp"
#include "postern/plan/sealer.hpp"
#include "postern/testing/test_pki.hpp"

namespace postern::crypto {

class CryptoFiles {
 public:
  CryptoFiles(const std::filesystem::path& dir, const postern::testing::TestPki& pki)
      : secret_(dir / "plan.key"), root_(dir / "store") {
    postern::testing::write_file(secret_, "0123456789abcdef0123456789abcdef-crypto-test", 0600);
    keystore::KeyStore store(root_);
    store.create_layout();
    store.import_bytes(pki.root().pem(), {.password = {}, .anchor = true, .source = "test"});
    store.import_bytes(pki.intermediate().pem(), {});
  }

  const std::filesystem::path& secret() const { return secret_; }
  const std::filesystem::path& store_root() const { return root_; }

  // Adds to the key store (a trust anchor with .anchor = true).
  void import(const std::string& bytes, const keystore::ImportOptions& options = {}) const {
    keystore::KeyStore(root_).import_bytes(bytes, options);
  }

  std::shared_ptr<const milter::Filter> filter(const std::string& extra_yaml = "") const {
    const std::string yaml =
        "plan: {secret_file: " + secret_.string() + "}\nkeystore: {root: " + root_.string() + "}\n" + extra_yaml;
    return build_filter(std::make_shared<const config::Config>(config::load_string(schema(), yaml, "crypto.yaml")));
  }

  std::string sealed(const plan::Plan& p) const {
    plan::Sealer sealer(plan::Secret::load(secret_), {});
    std::string folded;
    for (char c : sealer.seal(p, plan::Sealer::Clock::now())) {
      if (c == '\n') folded += '\r';
      folded += c;
    }
    return folded;
  }

 private:
  std::filesystem::path secret_;
  std::filesystem::path root_;
};

}  // namespace postern::crypto
