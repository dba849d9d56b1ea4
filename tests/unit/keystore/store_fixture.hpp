// NAME
//   store_fixture - a key store in a scratch folder trusting a fresh TestPki
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "postern/keystore/key_store.hpp"
#include "postern/testing/test_pki.hpp"
#include "scratch.hpp"

namespace postern::keystore::testing {

using postern::testing::certs_only_der;
using postern::testing::CertSpec;
using postern::testing::Issued;
using postern::testing::KeyType;
using postern::testing::TestPki;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store.create_layout();
    trust(pki);
  }
  void trust(const TestPki& p) {
    store.import_bytes(p.root().pem(), {.anchor = true});
    store.import_bytes(p.intermediate().pem(), {});
  }
  // Someone else's certificate, into certs/.
  void add_other(const Issued& i) { store.import_bytes(i.pem(), {}); }
  // One of our users: key and certificate, into private/.
  void add_own(const Issued& i) { store.import_bytes(i.key_pem() + i.pem(), {}); }

  Scratch dir;
  TestPki pki;
  KeyStore store{dir.path() / "store"};
};

}  // namespace postern::keystore::testing
