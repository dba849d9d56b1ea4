#include "postern/core/net.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/tcp.h>
#include <netinet/in.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <cstring>

#include <stdexcept>
#include <string>

namespace postern::core {
namespace {

using ::testing::HasSubstr;

struct AddressCase {
  std::string text;
  bool v4;
  std::string canonical;
};

class AddressTest : public ::testing::TestWithParam<AddressCase> {};

TEST_P(AddressTest, ParsesToCanonicalForm) {
  const auto& c = GetParam();
  const auto address = IpAddress::parse(c.text);
  ASSERT_TRUE(address.has_value()) << c.text;
  EXPECT_EQ(address->is_v4(), c.v4);
  EXPECT_EQ(address->to_string(), c.canonical);
  EXPECT_EQ(IpAddress::parse(address->to_string()), address);  // round trip
}

INSTANTIATE_TEST_SUITE_P(
    Net, AddressTest,
    ::testing::Values(AddressCase{"192.0.2.1", true, "192.0.2.1"}, AddressCase{"0.0.0.0", true, "0.0.0.0"},
                      AddressCase{"255.255.255.255", true, "255.255.255.255"},
                      AddressCase{"[192.0.2.1]", true, "192.0.2.1"},
                      AddressCase{"2001:DB8::1", false, "2001:db8::1"}, AddressCase{"::", false, "::"},
                      AddressCase{"[2001:db8::1]", false, "2001:db8::1"},
                      AddressCase{"IPv6:2001:db8::1", false, "2001:db8::1"},
                      AddressCase{"ipv6:::1", false, "::1"}, AddressCase{"[IPv6:::1]", false, "::1"},
                      // Postfix may report an IPv4 client in its mapped form.
                      AddressCase{"::ffff:192.0.2.1", true, "192.0.2.1"},
                      AddressCase{"[::ffff:c000:0201]", true, "192.0.2.1"},
                      AddressCase{"IPv6:::ffff:10.0.0.1", true, "10.0.0.1"},
                      // ::192.0.2.1 (IPv4-compatible, deprecated) is not mapped.
                      AddressCase{"::192.0.2.1", false, "::192.0.2.1"}));

class BadAddressTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BadAddressTest, IsRefused) { EXPECT_FALSE(IpAddress::parse(GetParam()).has_value()) << GetParam(); }

INSTANTIATE_TEST_SUITE_P(Net, BadAddressTest,
                         ::testing::Values("", "1.2.3", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4",
                                           "0x7f.0.0.1", "1::2::3", "fe80::1%eth0", "[1.2.3.4", "1.2.3.4]",
                                           "[]", "IPv6:192.0.2.1", "example.org", "192.0.2.1/32",
                                           std::string("192.0.2.1\0junk", 14), std::string("::1\0", 4)));

TEST(IpAddress, FactoriesAndEquality) {
  EXPECT_EQ(IpAddress::v4(0xc0000201).to_string(), "192.0.2.1");
  EXPECT_EQ(IpAddress::v4(0xc0000201), *IpAddress::parse("192.0.2.1"));
  std::array<std::uint8_t, 16> mapped{};
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  mapped[12] = 192;
  mapped[15] = 1;
  const IpAddress folded = IpAddress::v6(mapped);
  EXPECT_TRUE(folded.is_v4());
  EXPECT_EQ(folded, IpAddress::v4(0xc0000001));
  std::array<std::uint8_t, 16> loopback{};
  loopback[15] = 1;
  EXPECT_FALSE(IpAddress::v6(loopback).is_v4());
  EXPECT_EQ(IpAddress::v6(loopback).to_string(), "::1");
  EXPECT_NE(IpAddress::v6(loopback), IpAddress::v4(1));  // ::1 is not 0.0.0.1
}

struct NetworkCase {
  std::string text;
  std::string canonical;
  int prefix;
};

class NetworkTest : public ::testing::TestWithParam<NetworkCase> {};

TEST_P(NetworkTest, ParsesToCanonicalForm) {
  const auto network = Network::parse(GetParam().text);
  EXPECT_EQ(network.to_string(), GetParam().canonical);
  EXPECT_EQ(network.prefix_length(), GetParam().prefix);
}

INSTANTIATE_TEST_SUITE_P(Net, NetworkTest,
                         ::testing::Values(NetworkCase{"10.0.0.0/8", "10.0.0.0/8", 8},
                                           NetworkCase{"192.0.2.1", "192.0.2.1/32", 32},
                                           NetworkCase{"0.0.0.0/0", "0.0.0.0/0", 0},
                                           NetworkCase{"192.0.2.128/25", "192.0.2.128/25", 25},
                                           NetworkCase{"2001:DB8::/32", "2001:db8::/32", 32},
                                           NetworkCase{"::1", "::1/128", 128}, NetworkCase{"::/0", "::/0", 0},
                                           NetworkCase{"[2001:db8::]/48", "2001:db8::/48", 48},
                                           NetworkCase{"::ffff:10.0.0.0/104", "10.0.0.0/8", 8},
                                           NetworkCase{"::ffff:192.0.2.1", "192.0.2.1/32", 32},
                                           NetworkCase{"::ffff:0.0.0.0/96", "0.0.0.0/0", 0}));

struct BadNetworkCase {
  std::string text;
  std::string message;
};

class BadNetworkTest : public ::testing::TestWithParam<BadNetworkCase> {};

TEST_P(BadNetworkTest, IsRefusedWithAClearMessage) {
  try {
    Network::parse(GetParam().text);
    FAIL() << GetParam().text << " was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), GetParam().message);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Net, BadNetworkTest,
    ::testing::Values(
        BadNetworkCase{"10.1.2.3/8", "'10.1.2.3/8' has host bits set (did you mean 10.0.0.0/8?)"},
        BadNetworkCase{"192.0.2.129/25", "'192.0.2.129/25' has host bits set (did you mean 192.0.2.128/25?)"},
        BadNetworkCase{"2001:db8::1/32", "'2001:db8::1/32' has host bits set (did you mean 2001:db8::/32?)"},
        BadNetworkCase{"::ffff:10.1.0.0/104", "'::ffff:10.1.0.0/104' has host bits set (did you mean 10.0.0.0/8?)"},
        BadNetworkCase{"10.0.0.0/33", "'10.0.0.0/33': prefix length must be a number from 0 to 32"},
        BadNetworkCase{"::/129", "'::/129': prefix length must be a number from 0 to 128"},
        BadNetworkCase{"10.0.0.0/", "'10.0.0.0/': prefix length must be a number from 0 to 32"},
        BadNetworkCase{"10.0.0.0/-1", "'10.0.0.0/-1': prefix length must be a number from 0 to 32"},
        BadNetworkCase{"10.0.0.0/+8", "'10.0.0.0/+8': prefix length must be a number from 0 to 32"},
        BadNetworkCase{"10.0.0.0/8x", "'10.0.0.0/8x': prefix length must be a number from 0 to 32"},
        BadNetworkCase{"10.0.0.0/99999999999999999999", "'10.0.0.0/99999999999999999999': prefix length must be a number from 0 to 32"},
        BadNetworkCase{"10.0.0.0/8/8", "'10.0.0.0/8/8': prefix length must be a number from 0 to 32"},
        BadNetworkCase{"::ffff:0:0/64", "'::ffff:0:0/64': an IPv4-mapped prefix must be at least /96"},
        BadNetworkCase{"example.org/24", "'example.org/24' is not an IP address or network"},
        BadNetworkCase{"", "'' is not an IP address or network"},
        BadNetworkCase{"/8", "'/8' is not an IP address or network"}));

struct ContainsCase {
  std::string network;
  std::string address;
  bool inside;
};

class ContainsTest : public ::testing::TestWithParam<ContainsCase> {};

TEST_P(ContainsTest, MatchesPrefixBits) {
  const auto& c = GetParam();
  EXPECT_EQ(Network::parse(c.network).contains(*IpAddress::parse(c.address)), c.inside)
      << c.network << " " << c.address;
}

INSTANTIATE_TEST_SUITE_P(Net, ContainsTest,
                         ::testing::Values(ContainsCase{"10.0.0.0/8", "10.255.255.255", true},
                                           ContainsCase{"10.0.0.0/8", "11.0.0.0", false},
                                           ContainsCase{"192.0.2.128/25", "192.0.2.128", true},
                                           ContainsCase{"192.0.2.128/25", "192.0.2.127", false},
                                           ContainsCase{"192.0.2.0/31", "192.0.2.1", true},
                                           ContainsCase{"192.0.2.0/31", "192.0.2.2", false},
                                           ContainsCase{"192.0.2.1", "192.0.2.1", true},
                                           ContainsCase{"192.0.2.1", "192.0.2.2", false},
                                           ContainsCase{"0.0.0.0/0", "203.0.113.9", true},
                                           ContainsCase{"0.0.0.0/0", "::1", false},
                                           ContainsCase{"::/0", "10.0.0.1", false},
                                           ContainsCase{"::/0", "2001:db8::1", true},
                                           ContainsCase{"2001:db8::/33", "2001:db8:7fff::1", true},
                                           ContainsCase{"2001:db8::/33", "2001:db8:8000::1", false},
                                           // Mapped clients match IPv4 access lists and vice versa.
                                           ContainsCase{"10.0.0.0/8", "::ffff:10.1.2.3", true},
                                           ContainsCase{"::ffff:10.0.0.0/104", "10.1.2.3", true},
                                           ContainsCase{"::1", "127.0.0.1", false}));

TEST(Network, ContainsAny) {
  const std::vector<Network> networks = {Network::parse("127.0.0.0/8"), Network::parse("::1"),
                                         Network::parse("192.0.2.0/24")};
  EXPECT_TRUE(contains_any(networks, *IpAddress::parse("127.0.0.1")));
  EXPECT_TRUE(contains_any(networks, *IpAddress::parse("[::1]")));
  EXPECT_TRUE(contains_any(networks, *IpAddress::parse("192.0.2.200")));
  EXPECT_FALSE(contains_any(networks, *IpAddress::parse("198.51.100.1")));
  EXPECT_FALSE(contains_any(networks, *IpAddress::parse("::2")));
  EXPECT_FALSE(contains_any({}, *IpAddress::parse("127.0.0.1")));
}

TEST(Nagle, ListenersPassTcpNodelayToAcceptedConnections) {
  auto nodelay = [](int fd) {
    int v = -1;
    socklen_t len = sizeof v;
    EXPECT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
    return v != 0;
  };
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t alen = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &alen), 0);
  const int plain = ::socket(AF_INET, SOCK_STREAM, 0);  // not listening: left alone
  ASSERT_GE(plain, 0);

  disable_nagle_on_tcp_listeners();

  EXPECT_TRUE(nodelay(listener));
  EXPECT_FALSE(nodelay(plain));
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const int accepted = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  EXPECT_TRUE(nodelay(accepted));
  for (int fd : {accepted, client, plain, listener}) ::close(fd);
}

TEST(UnixSocket, PathOnlyForUnixAndLocalSockets) {
  EXPECT_EQ(unix_socket_path("unix:/run/postern/policy.sock"), "/run/postern/policy.sock");
  EXPECT_EQ(unix_socket_path("local:/tmp/x.sock"), "/tmp/x.sock");
  EXPECT_EQ(unix_socket_path("inet:10032@127.0.0.1"), std::nullopt);
  EXPECT_EQ(unix_socket_path("inet6:10032@[::1]"), std::nullopt);
}

TEST(UnixSocket, ModeIsOctalUpTo0777) {
  EXPECT_EQ(parse_socket_mode("0660"), 0660u);
  EXPECT_EQ(parse_socket_mode("600"), 0600u);
  EXPECT_EQ(parse_socket_mode("0777"), 0777u);
  for (const char* bad : {"", "0668", "1777", "rw-rw----", "0660 ", "-1"}) {
    EXPECT_THROW(parse_socket_mode(bad), std::invalid_argument) << bad;
  }
}

TEST(UnixSocket, AccessIsSetOnTheSocketFile) {
  char dir_template[] = "/tmp/postern-sock-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/m.sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);

  const group* own = ::getgrgid(::getgid());
  ASSERT_NE(own, nullptr);
  set_socket_access(path, 0660, "", own->gr_name);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_gid, ::getgid());

  set_socket_access(path, 0600, "", "");
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  EXPECT_THROW(set_socket_access(path, 0660, "", "no-such-group-postern"), std::runtime_error);
  EXPECT_THROW(set_socket_access(path, 0660, "no-such-user-postern", ""), std::runtime_error);
  EXPECT_THROW(set_socket_access(std::string(dir_template) + "/missing.sock", 0660, "", ""), std::runtime_error);
  ::close(fd);
  ::unlink(path.c_str());
  ::rmdir(dir_template);
}

}  // namespace
}  // namespace postern::core
