#include "postern/ldap/settings.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "postern/core/error.hpp"
#include "postern/ldap/password.hpp"

namespace postern::ldap {
namespace {

using namespace std::chrono_literals;

const config::Schema& schema() {
  static const config::Schema s = [] {
    config::Schema sc("ldap-test", "test");
    declare_keys(sc);
    return sc;
  }();
  return s;
}

Settings load(const std::string& yaml) { return settings_from(config::load_string(schema(), yaml, "test.yml")); }

TEST(LdapSettings, DefaultsMeanNoDirectory) {
  const Settings s = settings_from(config::defaults(schema()));
  EXPECT_FALSE(s.enabled());
  EXPECT_EQ(s.operation_timeout, 3s);
  EXPECT_EQ(s.user_filter, "(|(mail=%s)(mailAlternateAddress=%s))");
  ASSERT_EQ(s.membership.size(), 2u);
  EXPECT_EQ(s.membership[0], Membership::member_of);
  EXPECT_EQ(s.membership[1], Membership::member);
}

TEST(LdapSettings, ReadsEveryKey) {
  const Settings s = load(
      "ldap:\n"
      "  uris: [ldap://ldap1.example.org, 'ldap://ldap2.example.org:3389']\n"
      "  base_dn: dc=example,dc=org\n"
      "  bind_dn: cn=postern,ou=services,dc=example,dc=org\n"
      "  bind_password_file: /etc/postern/ldap.secret\n"
      "  starttls: true\n"
      "  ca_file: /etc/postern/ldap-ca.pem\n"
      "  connect_timeout: 500ms\n"
      "  timeout: 2s\n"
      "  pool_size: 8\n"
      "  user_filter: '(&(objectClass=inetOrgPerson)(mail=%s))'\n"
      "  membership: [memberUid, member]\n"
      "  member_uid_attribute: uid\n"
      "  groups: ['staff=cn=staff,ou=groups,dc=example,dc=org']\n"
      "  group_base: ou=groups,dc=example,dc=org\n"
      "  group_filter: '(&(objectClass=posixGroup)(cn=%s))'\n"
      "  cache:\n"
      "    positive_ttl: 10m\n"
      "    negative_ttl: 30s\n"
      "    entries: 500\n");
  EXPECT_TRUE(s.enabled());
  EXPECT_EQ(s.uris.size(), 2u);
  EXPECT_EQ(s.bind_password_file, "/etc/postern/ldap.secret");
  EXPECT_TRUE(s.starttls);
  EXPECT_EQ(s.connect_timeout, 500ms);
  EXPECT_EQ(s.operation_timeout, 2s);
  EXPECT_EQ(s.pool_size, 8u);
  EXPECT_EQ(s.membership, (std::vector<Membership>{Membership::member_uid, Membership::member}));
  EXPECT_EQ(s.groups.at("staff"), "cn=staff,ou=groups,dc=example,dc=org");
  EXPECT_EQ(s.cache_positive_ttl, 10min);
  EXPECT_EQ(s.cache_negative_ttl, 30s);
  EXPECT_EQ(s.cache_entries, 500u);
}

TEST(LdapSettings, RefusesWhatCannotWork) {
  const std::string head = "ldap:\n  uris: [ldap://x]\n  base_dn: dc=x\n";
  for (const auto& [yaml, needle] : std::vector<std::pair<std::string, std::string>>{
           {"ldap:\n  uris: [http://x]\n  base_dn: dc=x\n", "not an ldap://"},
           {"ldap:\n  uris: [ldap://x]\n", "base_dn: is required"},
           {head + "  user_filter: '(mail=alice)'\n", "%s placeholder"},
           {head + "  user_filter: '(mail=%s'\n", "parentheses"},
           {head + "  membership: [memberof]\n", "not one of"},
           {head + "  groups: [staff]\n", "NAME=DN"},
           {head + "  bind_dn: cn=x\n", "bind_password_file: is required"},
           {"ldap:\n  uris: [ldaps://x]\n  base_dn: dc=x\n  starttls: true\n", "ldap:// URIs only"},
           {head + "  timeout: 10ms\n", "ldap.timeout"},
       }) {
    try {
      load(yaml);
      ADD_FAILURE() << "accepted: " << yaml;
    } catch (const core::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}

TEST(LdapSettings, AnotherPrefix) {
  config::Schema sc("t", "t");
  declare_keys(sc, "directory");
  const Settings s = settings_from(
      config::load_string(sc, "directory:\n  uris: [ldapi://]\n  base_dn: dc=x\n", "t.yml"), "directory");
  EXPECT_EQ(s.uris, std::vector<std::string>{"ldapi://"});
}

class PasswordFile : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& bytes, mode_t mode) {
    std::ofstream(path_, std::ios::trunc) << bytes;
    ::chmod(path_.c_str(), mode);
    return path_;
  }
  ~PasswordFile() override { std::filesystem::remove(path_); }
  std::filesystem::path path_ =
      std::filesystem::temp_directory_path() / ("postern-ldap-pw-" + std::to_string(::getpid()));
};

TEST_F(PasswordFile, FirstLineOfAPrivateFile) {
  Password pw = read_password_file(write("s3cret\nignored\n", 0600));
  EXPECT_EQ(std::string(pw.data(), pw.size()), "s3cret");
  Password group = read_password_file(write("other\r\n", 0640));
  EXPECT_EQ(std::string(group.data(), group.size()), "other");
}

TEST_F(PasswordFile, RefusesAWorldReadableFileWithoutShowingIt) {
  write("topsecret\n", 0644);
  try {
    read_password_file(path_);
    FAIL() << "a world-readable password file was accepted";
  } catch (const core::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("others may access it"), std::string::npos) << what;
    EXPECT_EQ(what.find("topsecret"), std::string::npos);
  }
  write("\n", 0600);
  EXPECT_THROW(read_password_file(path_), core::ConfigError);
  EXPECT_THROW(read_password_file(path_.string() + ".missing"), core::ConfigError);
}

}  // namespace
}  // namespace postern::ldap
