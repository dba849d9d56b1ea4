// posternctl keys import | list | show | export | remove, in process.
#include "postern/ctl/keys_commands.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "postern/testing/test_pki.hpp"
#include "scratch.hpp"

namespace postern::ctl {
namespace {

using postern::keystore::testing::Scratch;
using postern::testing::Issued;
using postern::testing::TestPki;
using postern::testing::write_file;
using ::testing::HasSubstr;
using ::testing::Not;

struct Outcome {
  int status;
  std::string out;
  std::string err;
};

class KeysCommands : public ::testing::Test {
 protected:
  Outcome run(std::vector<std::string> args) {
    args.insert(args.begin() + 2, {"--store", store.string()});
    Dispatcher d("posternctl");
    add_keys_commands(d);
    std::ostringstream out, err;
    const int status = d.run(args, out, err);
    return {status, out.str(), err.str()};
  }
  std::string file(const std::string& name, const std::string& bytes, unsigned mode = 0644) {
    return write_file(dir / name, bytes, mode).string();
  }
  void trust() {
    ASSERT_EQ(run({"keys", "import", "--anchor", file("root.pem", pki.root().pem())}).status, kExitOk);
    ASSERT_EQ(run({"keys", "import", file("sub.der", pki.intermediate().der())}).status, kExitOk);
  }

  Scratch dir;
  std::filesystem::path store = dir / "store";
  TestPki pki;
};

TEST_F(KeysCommands, ImportListShowExportRemove) {
  trust();
  Issued bob = pki.issue({.emails = {"bob@example.net"}});
  auto r = run({"keys", "import", file("bob.pem", bob.pem())});
  EXPECT_EQ(r.status, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("added    certs/" + bob.fingerprint()));

  r = run({"keys", "list"});
  EXPECT_EQ(r.status, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("certs  " + bob.fingerprint()));
  EXPECT_THAT(r.out, HasSubstr("bob@example.net"));
  EXPECT_THAT(r.out, HasSubstr("anchors  " + pki.root().fingerprint()));
  EXPECT_THAT(r.out, HasSubstr("[import "));

  r = run({"keys", "show", "bob@example.net"});
  EXPECT_EQ(r.status, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("encryption: " + bob.fingerprint()));
  EXPECT_THAT(r.out, HasSubstr("signing: none"));

  r = run({"keys", "export", "bob@example.net"});
  EXPECT_EQ(r.status, kExitOk);
  EXPECT_EQ(r.out, bob.pem());

  r = run({"keys", "remove", bob.fingerprint().substr(0, 10)});
  EXPECT_EQ(r.status, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("removed  certs/" + bob.fingerprint()));
  EXPECT_EQ(run({"keys", "remove", "bob@example.net"}).status, kExitFailed);
  EXPECT_EQ(run({"keys", "export", "bob@example.net"}).status, kExitFailed);
}

TEST_F(KeysCommands, ShowSaysWhyACandidateIsNotUsable) {
  trust();
  Issued old = pki.issue({.emails = {"bob@example.net"}, .not_before_days = -50, .not_after_days = -2});
  ASSERT_EQ(run({"keys", "import", file("old.pem", old.pem())}).status, kExitOk);
  auto r = run({"keys", "show", "bob@example.net"});
  EXPECT_EQ(r.status, kExitFailed);
  EXPECT_THAT(r.out, HasSubstr("encryption: none"));
  EXPECT_THAT(r.out, HasSubstr("not usable " + old.fingerprint()));
  EXPECT_THAT(r.out, HasSubstr(": expired"));
}

TEST_F(KeysCommands, Pkcs12PasswordComesFromAFileAndIsNeverShown) {
  trust();
  Issued alice = pki.issue({.emails = {"alice@example.org"}});
  const std::string p12 = file("alice.p12", alice.pkcs12("Tr0ub4dor&3", pki.chain()));
  auto r = run({"keys", "import", "--password-file", file("wrong.pass", "not-it\n", 0600), p12});
  EXPECT_EQ(r.status, kExitError);
  EXPECT_THAT(r.err, HasSubstr("wrong password"));
  EXPECT_THAT(r.err + r.out, Not(HasSubstr("not-it")));

  r = run({"keys", "import", "--password-file", file("right.pass", "Tr0ub4dor&3\r\n", 0600), p12});
  EXPECT_EQ(r.status, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("added    private/" + alice.fingerprint()));
  EXPECT_THAT(r.out, HasSubstr("skipped  " + pki.root().fingerprint()));
  EXPECT_THAT(r.err + r.out, Not(HasSubstr("Tr0ub4dor")));

  r = run({"keys", "show", "alice@example.org"});
  EXPECT_EQ(r.status, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("signing: " + alice.fingerprint()));

  r = run({"keys", "export", "alice@example.org"});
  EXPECT_EQ(r.status, kExitOk);
  EXPECT_THAT(r.out, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(r.out, Not(HasSubstr("PRIVATE KEY")));

  r = run({"keys", "remove", "alice@example.org"});
  EXPECT_EQ(r.status, kExitOk);
  EXPECT_FALSE(std::filesystem::exists(store / "private" / (alice.fingerprint() + ".key")));
}

TEST_F(KeysCommands, PasswordsOnTheCommandLineAreRefused) {
  auto r = run({"keys", "import", "--password", "secret", "x.p12"});
  EXPECT_EQ(r.status, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--password-file"));
  EXPECT_EQ(run({"keys", "import", "--password=secret", "x.p12"}).status, kExitUsage);
}

TEST_F(KeysCommands, ErrorsAndUsage) {
  EXPECT_EQ(run({"keys", "import"}).status, kExitUsage);
  EXPECT_EQ(run({"keys", "show"}).status, kExitUsage);
  EXPECT_EQ(run({"keys", "list", "extra"}).status, kExitUsage);
  EXPECT_EQ(run({"keys", "import", "--bogus", "x"}).status, kExitUsage);
  EXPECT_EQ(run({"keys", "remove", "xyz"}).status, kExitUsage);
  auto r = run({"keys", "import", (dir / "missing.pem").string()});
  EXPECT_EQ(r.status, kExitError);
  EXPECT_THAT(r.err, HasSubstr("cannot read"));
  r = run({"keys", "import", file("junk.bin", "junk")});
  EXPECT_EQ(r.status, kExitError);
  EXPECT_THAT(r.err, HasSubstr("not a certificate"));
  r = run({"keys", "list"});  // the store was never created
  EXPECT_EQ(r.status, kExitError);
  EXPECT_THAT(r.err, HasSubstr("not a directory"));
}

}  // namespace
}  // namespace postern::ctl
