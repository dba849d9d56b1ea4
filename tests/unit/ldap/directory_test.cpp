// The Directory against a real slapd (tests/support/slapd.cpp) loaded with
// tests/data/ldap/directory.ldif.
#include "postern/ldap/directory.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "postern/core/error.hpp"
#include "postern/testing/slapd.hpp"

namespace postern::ldap {
namespace {

using namespace std::chrono_literals;
using postern::testing::Slapd;

constexpr const char* kStaff = "cn=staff,ou=groups,dc=example,dc=org";
constexpr const char* kManagers = "cn=managers,ou=groups,dc=example,dc=org";
constexpr const char* kDevelopers = "cn=developers,ou=groups,dc=example,dc=org";
constexpr auto kSlack = 700ms;

bool require_all() {
  const char* v = std::getenv("POSTERN_REQUIRE_ALL");
  return v != nullptr && std::string(v) == "1";
}

#define SKIP_WITHOUT_SLAPD()                                                   \
  do {                                                                         \
    if (const auto why = Slapd::unavailable(); !why.empty()) {                 \
      if (require_all()) {                                                     \
        FAIL() << why << " (POSTERN_REQUIRE_ALL=1)";                           \
      }                                                                        \
      GTEST_SKIP() << why;                                                     \
    }                                                                          \
  } while (0)

Settings settings_for(const Slapd& slapd) {
  Settings s;
  s.uris = {slapd.uri()};
  s.base_dn = Slapd::kBaseDn;
  s.connect_timeout = 1s;
  s.operation_timeout = 2s;
  s.pool_size = 2;
  return s;
}

struct FakeTime {
  std::atomic<std::int64_t> offset_ms{0};
  std::chrono::steady_clock::time_point base = std::chrono::steady_clock::now();
  Clock clock() {
    return [this] { return base + std::chrono::milliseconds(offset_ms.load()); };
  }
  void advance(std::chrono::milliseconds d) { offset_ms += d.count(); }
};

class TempFile {
 public:
  TempFile(const std::string& text, mode_t mode)
      : path_(std::filesystem::temp_directory_path() /
              ("postern-ldap-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))) {
    std::ofstream(path_) << text;
    ::chmod(path_.c_str(), mode);
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline std::atomic<int> counter_{0};
  std::filesystem::path path_;
};

template <typename F>
std::chrono::milliseconds timed(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

// One slapd for the read-only tests; tests that stop it start their own.
class LdapDirectory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (Slapd::unavailable().empty()) {
      shared_ = new Slapd();
    }
  }
  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }
  void SetUp() override {
    SKIP_WITHOUT_SLAPD();
    ASSERT_NE(shared_, nullptr);
    ASSERT_TRUE(shared_->started()) << shared_->why() << "\n" << shared_->log();
  }
  static Slapd& slapd() { return *shared_; }
  static inline Slapd* shared_ = nullptr;
};

TEST_F(LdapDirectory, AttributeValuesOfTheAddressEntry) {
  Directory dir(settings_for(slapd()));
  auto dept = dir.attribute("alice@example.org", "departmentNumber");
  ASSERT_FALSE(dept.failed()) << dept.error;
  EXPECT_EQ(*dept.value, std::vector<std::string>{"Engineering"});
  auto title = dir.attribute("a.smith@example.org", "TITLE");  // mailAlternateAddress; any case of the name
  ASSERT_FALSE(title.failed()) << title.error;
  EXPECT_EQ(*title.value, std::vector<std::string>{"Engineer"});
  auto two = dir.attribute("carol@example.org", "departmentNumber");
  ASSERT_FALSE(two.failed()) << two.error;
  EXPECT_EQ(two.value->size(), 2u);
  auto none = dir.attribute("carol@example.org", "employeeType");  // entry without the attribute
  ASSERT_FALSE(none.failed()) << none.error;
  EXPECT_TRUE(none.value->empty());
}

TEST_F(LdapDirectory, UnknownAddressIsAnAnswerNotAFailure) {
  Directory dir(settings_for(slapd()));
  auto a = dir.attribute("nobody@example.org", "mail");
  ASSERT_FALSE(a.failed()) << a.error;
  EXPECT_TRUE(a.value->empty());
  auto m = dir.member_of("nobody@example.org", kStaff);
  ASSERT_FALSE(m.failed()) << m.error;
  EXPECT_FALSE(*m.value);
  auto c = dir.certificates("nobody@example.org");
  ASSERT_FALSE(c.failed()) << c.error;
  EXPECT_TRUE(c.value->empty());
}

TEST_F(LdapDirectory, MemberOfAttributeStyle) {
  Settings s = settings_for(slapd());
  s.membership = {Membership::member_of};
  Directory dir(s);
  EXPECT_EQ(dir.member_of("alice@example.org", kStaff).value, true);
  // Another spelling of the same DN.
  EXPECT_EQ(dir.member_of("alice@example.org", "CN=Staff, OU=groups, DC=example, DC=org").value, true);
  EXPECT_EQ(dir.member_of("carol@example.org", kStaff).value, false);
  // The overlay records groupOfNames only: uniqueMember and memberUid groups are not seen this way.
  EXPECT_EQ(dir.member_of("bob@example.org", kManagers).value, false);
  EXPECT_EQ(dir.member_of("alice@example.org", kDevelopers).value, false);
}

TEST_F(LdapDirectory, MemberAndUniqueMemberStyle) {
  Settings s = settings_for(slapd());
  s.membership = {Membership::member};
  Directory dir(s);
  EXPECT_EQ(dir.member_of("bob@example.org", kStaff).value, true);
  EXPECT_EQ(dir.member_of("bob@example.org", kManagers).value, true);
  EXPECT_EQ(dir.member_of("alice@example.org", kManagers).value, false);
  EXPECT_EQ(dir.member_of("carol@example.org", kStaff).value, false);
  // A group DN that does not exist: not a member.
  EXPECT_EQ(dir.member_of("alice@example.org", "cn=ghosts,ou=groups,dc=example,dc=org").value, false);
}

TEST_F(LdapDirectory, MemberUidStyle) {
  Settings s = settings_for(slapd());
  s.membership = {Membership::member_uid};
  Directory dir(s);
  EXPECT_EQ(dir.member_of("alice@example.org", kDevelopers).value, true);
  EXPECT_EQ(dir.member_of("c.white@example.org", kDevelopers).value, true);
  EXPECT_EQ(dir.member_of("bob@example.org", kDevelopers).value, false);
}

TEST_F(LdapDirectory, GroupsByShortNameOrFilter) {
  Settings s = settings_for(slapd());
  s.membership = {Membership::member_of, Membership::member, Membership::member_uid};
  s.groups = {{"staff", kStaff}};
  Directory by_map(s);
  EXPECT_EQ(by_map.member_of("bob@example.org", "staff").value, true);
  auto unknown = by_map.member_of("bob@example.org", "managers");
  ASSERT_TRUE(unknown.failed());
  EXPECT_NE(unknown.error.find("unknown group"), std::string::npos) << unknown.error;

  s.group_base = "ou=groups,dc=example,dc=org";
  s.group_filter = "(&(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))(cn=%s))";
  Directory by_filter(s);
  EXPECT_EQ(by_filter.member_of("bob@example.org", "managers").value, true);
  EXPECT_EQ(by_filter.member_of("alice@example.org", "crypto-users").value, true);
  EXPECT_EQ(by_filter.member_of("carol@example.org", "developers").value, true);
  EXPECT_EQ(by_filter.member_of("carol@example.org", "crypto-users").value, false);
  EXPECT_EQ(by_filter.member_of("alice@example.org", "no-such-group").value, false);
  // A name matching every group must not become "any group".
  EXPECT_EQ(by_filter.member_of("alice@example.org", "*").value, false);
}

TEST_F(LdapDirectory, HostileInputCannotWidenTheSearch) {
  Directory dir(settings_for(slapd()));
  // Unescaped, each of these would match several entries (an "ambiguous"
  // failure) or alice's entry; escaped, they match nothing.
  for (const char* hostile : {"*", "*)(uid=*", "alice@example.org)(mail=*", "*)(|(mail=*",
                              "alice@example.org\\29", "a*@example.org"}) {
    auto r = dir.attribute(hostile, "mail");
    ASSERT_FALSE(r.failed()) << hostile << ": " << r.error;
    EXPECT_TRUE(r.value->empty()) << hostile;
    auto m = dir.member_of(hostile, kStaff);
    ASSERT_FALSE(m.failed()) << hostile << ": " << m.error;
    EXPECT_FALSE(*m.value) << hostile;
  }
  auto bad_attr = dir.attribute("alice@example.org", "mail)(uid=*");
  EXPECT_TRUE(bad_attr.failed());
}

TEST_F(LdapDirectory, TwoEntriesForOneAddressIsAFailure) {
  Directory dir(settings_for(slapd()));
  auto r = dir.attribute("shared@example.org", "cn");
  ASSERT_TRUE(r.failed());
  EXPECT_NE(r.error.find("ambiguous"), std::string::npos) << r.error;
}

TEST_F(LdapDirectory, Certificates) {
  Directory dir(settings_for(slapd()));
  auto alice = dir.certificates("alice@example.org");
  ASSERT_FALSE(alice.failed()) << alice.error;
  ASSERT_EQ(alice.value->size(), 1u);
  const std::string& der = alice.value->front();
  ASSERT_GT(der.size(), 100u);
  EXPECT_EQ(static_cast<unsigned char>(der[0]), 0x30);  // a DER SEQUENCE
  EXPECT_NE(der.find("alice@example.org"), std::string::npos);
  auto bob = dir.certificates("bob@example.org");
  ASSERT_FALSE(bob.failed()) << bob.error;
  ASSERT_EQ(bob.value->size(), 1u);
  EXPECT_NE(bob.value->front(), der);
  auto carol = dir.certificates("carol@example.org");
  ASSERT_FALSE(carol.failed()) << carol.error;
  EXPECT_TRUE(carol.value->empty());
}

TEST_F(LdapDirectory, CacheHitAndExpiry) {
  FakeTime t;
  Settings s = settings_for(slapd());
  s.cache_positive_ttl = 60s;
  s.cache_negative_ttl = 10s;
  Directory dir(s, t.clock());
  ASSERT_EQ(dir.attribute("alice@example.org", "title").value, std::vector<std::string>{"Engineer"});
  const auto after_first = dir.searches();
  EXPECT_EQ(after_first, 1u);
  ASSERT_EQ(dir.attribute("ALICE@example.org", "Title").value, std::vector<std::string>{"Engineer"});
  EXPECT_EQ(dir.searches(), after_first);  // a hit asks nothing
  t.advance(59s);
  dir.attribute("alice@example.org", "title");
  EXPECT_EQ(dir.searches(), after_first);
  t.advance(2s);
  ASSERT_EQ(dir.attribute("alice@example.org", "title").value, std::vector<std::string>{"Engineer"});
  EXPECT_EQ(dir.searches(), after_first + 1);  // expired: asked again
}

TEST_F(LdapDirectory, NegativeAnswersHaveTheirOwnTtl) {
  FakeTime t;
  Settings s = settings_for(slapd());
  s.cache_positive_ttl = 60s;
  s.cache_negative_ttl = 10s;
  Directory dir(s, t.clock());
  EXPECT_EQ(dir.member_of("carol@example.org", kStaff).value, false);
  EXPECT_EQ(dir.member_of("alice@example.org", kStaff).value, true);
  const auto asked = dir.searches();
  EXPECT_EQ(dir.member_of("carol@example.org", kStaff).value, false);
  EXPECT_EQ(dir.member_of("alice@example.org", kStaff).value, true);
  EXPECT_EQ(dir.searches(), asked);
  t.advance(11s);
  EXPECT_EQ(dir.member_of("alice@example.org", kStaff).value, true);
  EXPECT_EQ(dir.searches(), asked);  // the positive answer is still kept
  EXPECT_EQ(dir.member_of("carol@example.org", kStaff).value, false);
  EXPECT_GT(dir.searches(), asked);  // the negative one was asked again
}

TEST_F(LdapDirectory, PoolWaitIsBounded) {
  Settings s = settings_for(slapd());
  s.pool_size = 1;
  Pool pool(s);
  auto first = pool.acquire(std::chrono::steady_clock::now() + 2s);
  ASSERT_TRUE(std::holds_alternative<Pool::Lease>(first)) << std::get<Error>(first).reason;
  std::optional<Error> second;
  const auto took = timed([&] {
    auto r = pool.acquire(std::chrono::steady_clock::now() + 300ms);
    if (auto* e = std::get_if<Error>(&r)) {
      second = *e;
    }
  });
  ASSERT_TRUE(second.has_value()) << "a second connection was lent from a pool of one";
  EXPECT_EQ(second->kind, Error::Kind::timeout);
  EXPECT_GE(took, 280ms);
  EXPECT_LT(took, 300ms + kSlack);
}

TEST_F(LdapDirectory, ConnectionsAreReused) {
  Settings s = settings_for(slapd());
  s.cache_positive_ttl = 0ms;
  s.cache_negative_ttl = 0ms;
  Directory dir(s);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(dir.attribute("bob@example.org", "title").value, std::vector<std::string>{"Manager"});
  }
  EXPECT_EQ(dir.searches(), 20u);
  EXPECT_EQ(dir.pool().opened_total(), 1u);
}

TEST_F(LdapDirectory, StartTlsAndLdapsWithTheTestCa) {
  Settings s = settings_for(slapd());
  s.starttls = true;
  s.ca_file = slapd().ca_file();
  auto r = Directory(s).attribute("alice@example.org", "title");
  ASSERT_FALSE(r.failed()) << r.error;
  EXPECT_EQ(*r.value, std::vector<std::string>{"Engineer"});

  s.starttls = false;
  s.uris = {slapd().ldaps_uri()};
  auto l = Directory(s).attribute("alice@example.org", "title");
  ASSERT_FALSE(l.failed()) << l.error;
  EXPECT_EQ(*l.value, std::vector<std::string>{"Engineer"});
}

TEST_F(LdapDirectory, TlsWithAnUntrustedServerFails) {
  // A CA file that does not hold the server's CA: the handshake must fail.
  Slapd other_ca_holder;  // a second fixture only for its (different) CA
  ASSERT_TRUE(other_ca_holder.started()) << other_ca_holder.why();
  Settings s = settings_for(slapd());
  s.starttls = true;
  s.ca_file = other_ca_holder.ca_file();
  auto r = Directory(s).attribute("alice@example.org", "title");
  EXPECT_TRUE(r.failed());
  s.starttls = false;
  s.uris = {slapd().ldaps_uri()};
  auto l = Directory(s).attribute("alice@example.org", "title");
  EXPECT_TRUE(l.failed());
}

TEST_F(LdapDirectory, BindWithAPasswordFile) {
  Settings s = settings_for(slapd());
  s.bind_dn = Slapd::kBindDn;
  TempFile right(std::string(Slapd::kBindPassword) + "\n", 0600);
  s.bind_password_file = right.path();
  auto ok = Directory(s).attribute("alice@example.org", "title");
  ASSERT_FALSE(ok.failed()) << ok.error;
  EXPECT_EQ(*ok.value, std::vector<std::string>{"Engineer"});

  TempFile wrong("not-the-password\n", 0640);
  s.bind_password_file = wrong.path();
  auto refused = Directory(s).attribute("alice@example.org", "title");
  ASSERT_TRUE(refused.failed());
  EXPECT_NE(refused.error.find("bind"), std::string::npos) << refused.error;
  EXPECT_EQ(refused.error.find("not-the-password"), std::string::npos);
}

TEST_F(LdapDirectory, WorldReadablePasswordFileIsRefused) {
  Settings s = settings_for(slapd());
  s.bind_dn = Slapd::kBindDn;
  TempFile file(std::string(Slapd::kBindPassword) + "\n", 0644);
  s.bind_password_file = file.path();
  EXPECT_THROW(Directory{s}, core::ConfigError);
  // Made readable by others after start: the next connect refuses it.
  ::chmod(file.path().c_str(), 0600);
  Settings fresh = s;
  fresh.cache_positive_ttl = 0ms;
  Directory dir(fresh);
  ::chmod(file.path().c_str(), 0604);
  auto r = dir.attribute("alice@example.org", "title");
  ASSERT_TRUE(r.failed());
  EXPECT_NE(r.error.find("others may access"), std::string::npos) << r.error;
}

TEST_F(LdapDirectory, ConfiguredFromYaml) {
  config::Schema schema("postern-test", "test");
  declare_keys(schema);
  const auto cfg = config::load_string(schema,
                                       "ldap:\n  uris: ['" + slapd().uri() +
                                           "']\n  base_dn: dc=example,dc=org\n  membership: [member]\n"
                                           "  groups: ['managers=" + kManagers + "']\n",
                                       "t.yml");
  Directory dir(settings_from(cfg));
  EXPECT_EQ(dir.member_of("bob@example.org", "managers").value, true);
}

TEST_F(LdapDirectory, EightThreadsShareOneDirectory) {
  Settings s = settings_for(slapd());
  s.pool_size = 3;
  s.cache_positive_ttl = 0ms;  // every lookup goes to slapd
  s.cache_negative_ttl = 0ms;
  const Directory dir(s);
  std::atomic<int> wrong{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 40; ++i) {
        const bool alice = (i + t) % 2 == 0;
        const auto r = dir.attribute(alice ? "alice@example.org" : "bob@example.org", "departmentNumber");
        const auto m = dir.member_of(alice ? "alice@example.org" : "carol@example.org", kStaff);
        if (r.failed() || m.failed()) {
          ++failed;
          continue;
        }
        if (r.value->size() != 1 || r.value->front() != (alice ? "Engineering" : "Sales") || *m.value != alice) {
          ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(dir.pool().opened_total(), 3u);
}

// Tests that take the directory down use a slapd of their own.
TEST(LdapDirectoryDown, FailsWithinTheTimeoutThenRecovers) {
  SKIP_WITHOUT_SLAPD();
  Slapd slapd;
  ASSERT_TRUE(slapd.started()) << slapd.why();
  FakeTime t;
  Settings s = settings_for(slapd);
  s.operation_timeout = 1s;
  Directory dir(s, t.clock());
  ASSERT_EQ(dir.attribute("alice@example.org", "title").value, std::vector<std::string>{"Engineer"});
  ASSERT_EQ(dir.pool().open_count(), 1u);  // a pooled connection that goes stale below

  ASSERT_TRUE(slapd.stop());
  lookup::Lookup<bool> down;
  const auto took = timed([&] { down = dir.member_of("alice@example.org", kStaff); });
  ASSERT_TRUE(down.failed()) << "a stopped directory answered";
  EXPECT_FALSE(down.error.empty());
  EXPECT_LT(took, s.operation_timeout + kSlack);
  // Cached answers still answer; failures were not cached.
  EXPECT_EQ(dir.attribute("alice@example.org", "title").value, std::vector<std::string>{"Engineer"});
  EXPECT_TRUE(dir.member_of("alice@example.org", kStaff).failed());

  ASSERT_TRUE(slapd.restart()) << slapd.why();
  auto back = dir.member_of("alice@example.org", kStaff);
  ASSERT_FALSE(back.failed()) << back.error;
  EXPECT_TRUE(*back.value);
}

TEST(LdapDirectoryDown, RestartUnderPooledConnectionsIsRetriedOnce) {
  SKIP_WITHOUT_SLAPD();
  Slapd slapd;
  ASSERT_TRUE(slapd.started()) << slapd.why();
  Settings s = settings_for(slapd);
  s.cache_positive_ttl = 0ms;
  s.cache_negative_ttl = 0ms;
  Directory dir(s);
  ASSERT_FALSE(dir.attribute("alice@example.org", "title").failed());
  ASSERT_TRUE(slapd.restart()) << slapd.why();
  // The pooled connection died with the old slapd; the lookup is retried
  // on a fresh one and answers.
  auto r = dir.attribute("alice@example.org", "title");
  ASSERT_FALSE(r.failed()) << r.error;
  EXPECT_EQ(*r.value, std::vector<std::string>{"Engineer"});
  EXPECT_EQ(dir.pool().opened_total(), 2u);
}

// A server that accepts TCP connections (the kernel's backlog) and never answers.
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
      port_ = ntohs(sa.sin_port);
    }
  }
  ~BlackHole() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  std::string uri(const char* scheme = "ldap") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

TEST(LdapDirectoryBlackHole, FailsWithinTheOperationTimeout) {
  BlackHole hole;
  ASSERT_NE(hole.port(), 0);
  Settings s;
  s.base_dn = "dc=example,dc=org";
  s.connect_timeout = 500ms;
  s.operation_timeout = 800ms;
  struct Case {
    const char* name;
    std::string uri;
    bool starttls;
    bool bind;
  };
  TempFile pw("whatever\n", 0600);
  for (const Case& c : {Case{"search", hole.uri(), false, false}, Case{"starttls", hole.uri(), true, false},
                        Case{"bind", hole.uri(), false, true}, Case{"ldaps", hole.uri("ldaps"), false, false}}) {
    s.uris = {c.uri};
    s.starttls = c.starttls;
    s.bind_dn = c.bind ? "cn=x,dc=example,dc=org" : "";
    s.bind_password_file = pw.path();
    Directory dir(s);
    lookup::Lookup<std::vector<std::string>> r;
    const auto took = timed([&] { r = dir.attribute("alice@example.org", "title"); });
    EXPECT_TRUE(r.failed()) << c.name;
    EXPECT_LT(took, s.operation_timeout + kSlack) << c.name << ": " << r.error;
  }
}

TEST(LdapDirectoryBlackHole, NobodyListeningFailsFast) {
  std::uint16_t port = 0;
  {
    BlackHole closed;  // its port is free again once it closes
    port = closed.port();
  }
  Settings s;
  s.uris = {"ldap://127.0.0.1:" + std::to_string(port)};
  s.base_dn = "dc=example,dc=org";
  s.operation_timeout = 2s;
  Directory dir(s);
  lookup::Lookup<bool> r;
  const auto took = timed([&] { r = dir.member_of("alice@example.org", kStaff); });
  ASSERT_TRUE(r.failed());
  EXPECT_LT(took, 1s);
}

TEST(LdapDirectorySettings, NoUrisIsAConfigurationError) {
  EXPECT_THROW(Directory{Settings{}}, core::ConfigError);
}

}  // namespace
}  // namespace postern::ldap
