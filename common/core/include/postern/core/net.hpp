// NAME
//   net - IP addresses and CIDR prefixes for access decisions
// SUMMARY
//   auto nets = {Network::parse("10.0.0.0/8"), Network::parse("::1")};
//   if (contains_any(nets, IpAddress::parse("10.1.2.3"))) ...
// DESCRIPTION
//   IPv4 and IPv6; an IPv4-mapped IPv6 address (::ffff:192.0.2.1) is treated
//   as the IPv4 address it carries, because Postfix and libmilter report
//   clients either way. A prefix with host bits set (10.1.2.3/8) is refused:
//   it is almost always a typing mistake in an access list.
// THREADS
//   Values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::core {

class IpAddress {
 public:
  // nullopt when text is not an address. Accepts "[v6]" and "IPv6:v6" forms
  // as Postfix writes them.
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(std::uint32_t host_order);
  static IpAddress v6(const std::array<std::uint8_t, 16>& bytes);

  bool is_v4() const noexcept { return v4_; }
  // For v4 only the first four bytes are used.
  const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
  std::string to_string() const;
  bool operator==(const IpAddress&) const = default;

 private:
  bool v4_ = true;
  std::array<std::uint8_t, 16> bytes_{};
};

class Network {
 public:
  // Throws std::invalid_argument with a message fit for a config error.
  static Network parse(std::string_view text);
  bool contains(const IpAddress& address) const noexcept;
  std::string to_string() const;
  const IpAddress& base() const noexcept { return base_; }
  int prefix_length() const noexcept { return prefix_; }

 private:
  IpAddress base_;
  int prefix_ = 32;
};

bool contains_any(const std::vector<Network>& networks, const IpAddress& address) noexcept;

// This host's name (gethostname), "localhost" when it has none.
std::string host_name();

// Sets TCP_NODELAY on every TCP socket of this process that is listening;
// on Linux the connections it accepts inherit it. For libmilter, which
// opens its listening socket without showing it: it writes each
// modification and the reply after it as separate small packets, and with
// Nagle's algorithm the reply would wait for the MTA's delayed ACK.
void disable_nagle_on_tcp_listeners() noexcept;

// The path of a milter socket written unix:/path or local:/path; nullopt
// for inet: and inet6: sockets.
std::optional<std::string> unix_socket_path(std::string_view milter_socket);

// "0660" -> 0660. Throws std::invalid_argument unless text is an octal
// permission (at most 0777).
unsigned parse_socket_mode(std::string_view text);

// Gives the UNIX-domain socket file at `path` the permission bits `mode`,
// the owner `user` and the group `group` (either empty: left as it is), so
// that Postfix's processes can connect and nobody else. Throws
// std::runtime_error naming the path, user or group on failure.
void set_socket_access(const std::string& path, unsigned mode, const std::string& user, const std::string& group);

}  // namespace postern::core
