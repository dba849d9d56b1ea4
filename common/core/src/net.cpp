#include "postern/core/net.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <climits>
#include <unistd.h>
#include <netinet/in.h>

#include <charconv>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "postern/core/strings.hpp"

namespace postern::core {
namespace {

constexpr std::array<std::uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_v4_mapped(const std::array<std::uint8_t, 16>& bytes) noexcept {
  for (std::size_t i = 0; i < kV4MappedPrefix.size(); ++i) {
    if (bytes[i] != kV4MappedPrefix[i]) {
      return false;
    }
  }
  return true;
}

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton stops at a NUL, so "192.0.2.1\0junk" would pass without this.
  if (text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  bool v6_only = false;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (istarts_with(text, "IPv6:")) {
    text.remove_prefix(5);
    v6_only = true;
  }
  const std::string copy(text);  // inet_pton wants a NUL-terminated string
  std::array<std::uint8_t, 16> bytes{};
  if (!v6_only && ::inet_pton(AF_INET, copy.c_str(), bytes.data()) == 1) {
    IpAddress address;
    address.bytes_ = bytes;
    return address;
  }
  if (::inet_pton(AF_INET6, copy.c_str(), bytes.data()) == 1) {
    return v6(bytes);
  }
  return std::nullopt;
}

IpAddress IpAddress::v4(std::uint32_t host_order) {
  IpAddress address;
  address.bytes_[0] = static_cast<std::uint8_t>(host_order >> 24);
  address.bytes_[1] = static_cast<std::uint8_t>(host_order >> 16);
  address.bytes_[2] = static_cast<std::uint8_t>(host_order >> 8);
  address.bytes_[3] = static_cast<std::uint8_t>(host_order);
  return address;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& bytes) {
  IpAddress address;
  if (is_v4_mapped(bytes)) {
    for (std::size_t i = 0; i < 4; ++i) {
      address.bytes_[i] = bytes[12 + i];
    }
    return address;
  }
  address.v4_ = false;
  address.bytes_ = bytes;
  return address;
}

std::string IpAddress::to_string() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(v4_ ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof buffer);
  return buffer;
}

Network Network::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  auto address = IpAddress::parse(address_text);
  if (!address) {
    throw std::invalid_argument(quoted(text) + " is not an IP address or network");
  }
  // A mapped address folds to IPv4, so its prefix counts the IPv6 bits too.
  const bool mapped = address->is_v4() && address_text.find(':') != std::string_view::npos;
  const int full = address->is_v4() ? 32 : 128;
  Network network;
  network.base_ = *address;
  network.prefix_ = full;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    int length = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    const int max = mapped ? 128 : full;
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || length < 0 ||
        length > max) {
      throw std::invalid_argument(quoted(text) + ": prefix length must be a number from 0 to " +
                                  std::to_string(max));
    }
    if (mapped && length < 96) {
      throw std::invalid_argument(quoted(text) +
                                  ": an IPv4-mapped prefix must be at least /96");
    }
    network.prefix_ = mapped ? length - 96 : length;
  }
  auto bytes = network.base_.bytes();
  for (int bit = network.prefix_; bit < full; ++bit) {
    bytes[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (bytes != network.base_.bytes()) {
    const IpAddress base = network.base_.is_v4() ? IpAddress::v4((std::uint32_t{bytes[0]} << 24) |
                                                                 (std::uint32_t{bytes[1]} << 16) |
                                                                 (std::uint32_t{bytes[2]} << 8) |
                                                                 std::uint32_t{bytes[3]})
                                                 : IpAddress::v6(bytes);
    throw std::invalid_argument(quoted(text) + " has host bits set (did you mean " + base.to_string() +
                                "/" + std::to_string(network.prefix_) + "?)");
  }
  return network;
}

bool Network::contains(const IpAddress& address) const noexcept {
  if (address.is_v4() != base_.is_v4()) {
    return false;
  }
  const auto& a = address.bytes();
  const auto& b = base_.bytes();
  const auto whole = static_cast<std::size_t>(prefix_ / 8);
  for (std::size_t i = 0; i < whole; ++i) {
    if (a[i] != b[i]) {
      return false;
    }
  }
  const int rest = prefix_ % 8;
  if (rest == 0) {
    return true;
  }
  const auto mask = static_cast<std::uint8_t>(0xffu << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

std::string Network::to_string() const { return base_.to_string() + "/" + std::to_string(prefix_); }

bool contains_any(const std::vector<Network>& networks, const IpAddress& address) noexcept {
  for (const auto& network : networks) {
    if (network.contains(address)) {
      return true;
    }
  }
  return false;
}

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

void disable_nagle_on_tcp_listeners() noexcept {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == ::dirfd(dir)) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) {
      continue;
    }
    sockaddr_storage addr{};
    socklen_t alen = sizeof addr;
    if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&addr), &alen) != 0) continue;
    if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) continue;
    const int on = 1;
    ::setsockopt(static_cast<int>(fd), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  ::closedir(dir);
}

std::optional<std::string> unix_socket_path(std::string_view milter_socket) {
  for (std::string_view prefix : {std::string_view{"unix:"}, std::string_view{"local:"}}) {
    if (milter_socket.substr(0, prefix.size()) == prefix) {
      return std::string(milter_socket.substr(prefix.size()));
    }
  }
  return std::nullopt;
}

unsigned parse_socket_mode(std::string_view text) {
  unsigned mode = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || mode > 0777) {
    throw std::invalid_argument("'" + std::string(text) + "' is not an octal permission such as 0660");
  }
  return mode;
}

void set_socket_access(const std::string& path, unsigned mode, const std::string& user, const std::string& group) {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  if (!user.empty()) {
    const passwd* pw = ::getpwnam(user.c_str());
    if (pw == nullptr) throw std::runtime_error("no such user '" + user + "' for the socket " + path);
    uid = pw->pw_uid;
  }
  if (!group.empty()) {
    const struct group* gr = ::getgrnam(group.c_str());
    if (gr == nullptr) throw std::runtime_error("no such group '" + group + "' for the socket " + path);
    gid = gr->gr_gid;
  }
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) && ::chown(path.c_str(), uid, gid) != 0) {
    throw std::runtime_error("cannot give the socket " + path + " to " + user +
                             (group.empty() ? "" : ":" + group) + ": " + std::strerror(errno));
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    throw std::runtime_error("cannot set the mode of the socket " + path + ": " + std::strerror(errno));
  }
}

}  // namespace postern::core
