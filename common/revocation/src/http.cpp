#include "postern/revocation/http.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "postern/core/c_unique.hpp"
#include "postern/core/fd.hpp"

namespace postern::revocation {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kHeaderAllowance = 16 * 1024;

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lowered(s.substr(0, prefix.size())) == prefix;
}

bool host_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

std::string errno_text(int e) { return std::strerror(e); }

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

struct Exchange {
  const HttpUrl& url;
  const HttpLimits& limits;
  Clock::time_point start = Clock::now();
  Clock::time_point deadline = start + limits.request_timeout;

  std::string where() const { return url.host + ":" + url.port; }

  [[noreturn]] void timed_out() const {
    throw FetchError(where() + ": timed out after " + std::to_string(limits.request_timeout.count()) + " ms");
  }

  // Waits for `events` on fd until `until`; false on timeout.
  static bool wait(int fd, short events, Clock::time_point until) {
    for (;;) {
      pollfd p{fd, events, 0};
      const int r = ::poll(&p, 1, remaining_ms(until));
      if (r > 0) return true;
      if (r == 0 && Clock::now() >= until) return false;
      if (r == 0) continue;
      if (errno != EINTR) return false;
    }
  }

  core::Fd connect() const {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &found);
    if (rc != 0) throw FetchError("resolve " + url.host + ": " + ::gai_strerror(rc));
    core::CUnique<addrinfo, &::freeaddrinfo> list(found);
    const Clock::time_point connect_deadline = std::min(deadline, Clock::now() + limits.connect_timeout);
    std::string last = "no address";
    for (addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
      core::Fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
      if (!fd.valid()) {
        last = errno_text(errno);
        continue;
      }
      if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) return fd;
      if (errno != EINPROGRESS) {
        last = errno_text(errno);
        continue;
      }
      if (!wait(fd.get(), POLLOUT, connect_deadline)) {
        throw FetchError("connect " + where() + ": timed out after " +
                         std::to_string(std::min(limits.connect_timeout, limits.request_timeout).count()) + " ms");
      }
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0) return fd;
      last = errno_text(err);
    }
    throw FetchError("connect " + where() + ": " + last);
  }

  void send_all(int fd, std::string_view data) const {
    while (!data.empty()) {
      const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait(fd, POLLOUT, deadline)) timed_out();
        continue;
      }
      throw FetchError("send to " + where() + ": " + errno_text(errno));
    }
  }

  std::string receive_all(int fd) const {
    const std::size_t cap = limits.max_response_bytes + kHeaderAllowance;
    std::string data;
    char buf[16384];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        data.append(buf, static_cast<std::size_t>(n));
        if (data.size() > cap) too_large();
        continue;
      }
      if (n == 0) return data;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!wait(fd, POLLIN, deadline)) timed_out();
        continue;
      }
      throw FetchError("receive from " + where() + ": " + errno_text(errno));
    }
  }

  [[noreturn]] void too_large() const {
    throw FetchError(where() + ": response larger than " + std::to_string(limits.max_response_bytes) + " bytes");
  }

  HttpResponse run(std::string_view request) const {
    core::Fd fd = connect();
    send_all(fd.get(), request);
    const std::string raw = receive_all(fd.get());
    try {
      return parse_http_response(raw, limits.max_response_bytes);
    } catch (const FetchError& e) {
      throw FetchError(where() + ": " + e.what());
    }
  }
};

HttpUrl checked(std::string_view url) {
  std::string why;
  auto parsed = parse_http_url(url, &why);
  if (!parsed) throw FetchError(why);
  return *parsed;
}

std::string host_header(const HttpUrl& u) {
  const bool v6 = u.host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + u.host + "]" : u.host;
  if (u.port != "80") h += ":" + u.port;
  return h;
}

}  // namespace

std::optional<HttpUrl> parse_http_url(std::string_view url, std::string* why) {
  auto fail = [&](const std::string& reason) -> std::optional<HttpUrl> {
    if (why != nullptr) *why = reason;
    return std::nullopt;
  };
  if (url.size() > 2048) return fail("URL too long");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return fail("URL contains spaces or control characters");
    }
  }
  if (!starts_with_ci(url, "http://")) {
    const std::size_t colon = url.find(':');
    const std::string scheme =
        colon == std::string_view::npos ? std::string("no scheme") : lowered(url.substr(0, colon));
    return fail("only http:// URLs are fetched (not " + scheme + ")");
  }
  std::string_view rest = url.substr(7);
  const std::size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  std::string path = slash == std::string_view::npos ? std::string("/") : std::string(rest.substr(slash));
  if (!path.empty() && path.front() == '?') path.insert(path.begin(), '/');
  if (const std::size_t hash = path.find('#'); hash != std::string::npos) path.erase(hash);
  if (authority.find('@') != std::string_view::npos) return fail("URL with user information refused");
  HttpUrl out;
  out.port = "80";
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("malformed IPv6 literal in URL");
    out.host = std::string(authority.substr(1, close - 1));
    if (out.host.empty() || !std::all_of(out.host.begin(), out.host.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
        })) {
      return fail("malformed IPv6 literal in URL");
    }
    authority.remove_prefix(close + 1);
    if (!authority.empty()) {
      if (authority.front() != ':') return fail("malformed URL authority");
      out.port = std::string(authority.substr(1));
    }
  } else {
    const std::size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(authority.substr(colon + 1));
    if (out.host.empty() || !std::all_of(out.host.begin(), out.host.end(), host_char)) {
      return fail("malformed host name in URL");
    }
  }
  if (out.port.empty() || out.port.size() > 5 ||
      !std::all_of(out.port.begin(), out.port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(out.port) == 0 || std::stoi(out.port) > 65535) {
    return fail("malformed port in URL");
  }
  out.path = std::move(path);
  return out;
}

HttpResponse parse_http_response(std::string_view raw, std::size_t max_body_bytes) {
  const std::size_t end = raw.find("\r\n\r\n");
  std::size_t body_at = end == std::string_view::npos ? std::string_view::npos : end + 4;
  std::size_t head_len = end;
  if (end == std::string_view::npos) {
    const std::size_t lf = raw.find("\n\n");
    if (lf == std::string_view::npos) throw FetchError("malformed HTTP response (no header end)");
    head_len = lf;
    body_at = lf + 2;
  }
  if (head_len > kHeaderAllowance) throw FetchError("HTTP header too long");
  const std::string_view head = raw.substr(0, head_len);
  HttpResponse out;
  std::size_t pos = 0;
  bool first = true;
  std::optional<std::size_t> content_length;
  while (pos <= head.size()) {
    std::size_t eol = head.find('\n', pos);
    if (eol == std::string_view::npos) eol = head.size();
    std::string_view line = head.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    if (first) {
      first = false;
      // "HTTP/1.x NNN reason"
      if (!starts_with_ci(line, "http/1.") || line.size() < 12 || line[8] != ' ') {
        throw FetchError("malformed HTTP status line");
      }
      const std::string_view code = line.substr(9, 3);
      if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        throw FetchError("malformed HTTP status line");
      }
      out.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string name = lowered(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (name == "content-type") {
      out.content_type = lowered(value.substr(0, std::min(value.find(';'), value.size())));
      while (!out.content_type.empty() && out.content_type.back() == ' ') out.content_type.pop_back();
    } else if (name == "content-length") {
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        throw FetchError("malformed Content-Length");
      }
      content_length = static_cast<std::size_t>(std::stoull(std::string(value)));
      if (*content_length > max_body_bytes)
        throw FetchError("response larger than " + std::to_string(max_body_bytes) + " bytes");
    } else if (name == "transfer-encoding" && lowered(value) != "identity") {
      throw FetchError("unsupported Transfer-Encoding");
    }
  }
  if (out.status != 200) throw FetchError("HTTP status " + std::to_string(out.status));
  std::string_view body = raw.substr(body_at);
  if (body.size() > max_body_bytes)
    throw FetchError("response larger than " + std::to_string(max_body_bytes) + " bytes");
  if (content_length) {
    if (body.size() < *content_length) throw FetchError("response body cut short");
    body = body.substr(0, *content_length);
  }
  out.body.assign(body);
  return out;
}

HttpResponse http_get(std::string_view url, const HttpLimits& limits) {
  const HttpUrl u = checked(url);
  const std::string request = "GET " + u.path + " HTTP/1.0\r\nHost: " + host_header(u) +
                              "\r\nUser-Agent: postern\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  return Exchange{u, limits}.run(request);
}

HttpResponse http_post(std::string_view url, std::string_view content_type, std::string_view body,
                       const HttpLimits& limits) {
  const HttpUrl u = checked(url);
  std::string request = "POST " + u.path + " HTTP/1.0\r\nHost: " + host_header(u) +
                        "\r\nUser-Agent: postern\r\nContent-Type: " + std::string(content_type) +
                        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  request.append(body);
  return Exchange{u, limits}.run(request);
}

}  // namespace postern::revocation
