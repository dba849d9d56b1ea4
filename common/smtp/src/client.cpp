#include "postern/smtp/client.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "postern/core/fd.hpp"
#include "postern/core/strings.hpp"
#include "postern/smtp/data_writer.hpp"

namespace postern::smtp {

namespace {

using Clock = std::chrono::steady_clock;

struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // text after "NNN-" / "NNN "
  std::string text() const {
    std::string out = std::to_string(code);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      out += i == 0 ? " " : " / ";
      out += lines[i];
    }
    return out;
  }
};

// A local or network problem: always a temporary failure.
struct Broken : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using GaiList = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

class Connection {
 public:
  Connection(const Endpoint& to, std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(to.port);
    const int rc = getaddrinfo(to.host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) throw Broken("cannot resolve " + to.host + ": " + gai_strerror(rc));
    GaiList list(found, &freeaddrinfo);
    std::string last = "no address";
    for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
      core::Fd fd(socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
      if (!fd.valid()) {
        last = std::strerror(errno);
        continue;
      }
      if (connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
          last = std::strerror(errno);
          continue;
        }
        pollfd p{fd.get(), POLLOUT, 0};
        const int ready = poll(&p, 1, static_cast<int>(timeout.count()));
        int err = 0;
        socklen_t len = sizeof err;
        if (ready <= 0) {
          last = ready == 0 ? "connect timed out" : std::strerror(errno);
          continue;
        }
        if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
          last = std::strerror(err != 0 ? err : errno);
          continue;
        }
      }
      fd_ = std::move(fd);
      return;
    }
    throw Broken("cannot connect to " + to.host + ":" + port + ": " + last);
  }

  void send(std::string_view bytes, Clock::time_point deadline) {
    while (!bytes.empty()) {
      wait(POLLOUT, deadline, "write");
      const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        throw Broken(std::string("write failed: ") + std::strerror(errno));
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  Reply read_reply(Clock::time_point deadline) {
    Reply r;
    for (;;) {
      const std::string line = read_line(deadline);
      if (line.size() < 3 || line.find_first_not_of("0123456789") < 3 ||
          (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        throw Broken("malformed reply: " + core::escape_controls(line.substr(0, 80)));
      }
      const int code = std::stoi(line.substr(0, 3));
      if (r.code != 0 && code != r.code) throw Broken("inconsistent multi-line reply");
      r.code = code;
      r.lines.push_back(core::escape_controls(line.size() > 4 ? line.substr(4) : std::string()));
      if (r.lines.size() > 100) throw Broken("reply too long");
      if (line.size() == 3 || line[3] == ' ') return r;
    }
  }

 private:
  void wait(short events, Clock::time_point deadline, const char* what) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) throw Broken(std::string(what) + " timed out");
      pollfd p{fd_.get(), events, 0};
      const int ready = poll(&p, 1, static_cast<int>(left));
      if (ready > 0) return;
      if (ready < 0 && errno != EINTR) throw Broken(std::string("poll failed: ") + std::strerror(errno));
    }
  }

  std::string read_line(Clock::time_point deadline) {
    for (;;) {
      const auto lf = buffer_.find('\n');
      if (lf != std::string::npos) {
        std::string line = buffer_.substr(0, lf);
        buffer_.erase(0, lf + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (buffer_.size() > 4096) throw Broken("reply line too long");
      wait(POLLIN, deadline, "read");
      char chunk[1024];
      const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
      if (n == 0) throw Broken("connection closed by server");
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        throw Broken(std::string("read failed: ") + std::strerror(errno));
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  core::Fd fd_;
  std::string buffer_;
};

bool safe_address(std::string_view a) { return a.find_first_of("\r\n<>") == std::string_view::npos && a.size() <= 512; }
bool safe_args(std::string_view a) { return a.find_first_of("\r\n") == std::string_view::npos && a.size() <= 512; }

// RFC 3461 xtext, as XFORWARD values are written.
std::string xtext(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c > ' ' && c <= '~' && c != '+' && c != '=') {
      out += static_cast<char>(c);
    } else {
      out += '+';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result failed(const Reply& r, const char* step) {
  return {r.code >= 500 ? Outcome::perm_failure : Outcome::temp_failure, r.text(), step};
}

}  // namespace

const char* to_string(Outcome o) noexcept {
  switch (o) {
    case Outcome::accepted:
      return "accepted";
    case Outcome::temp_failure:
      return "temp-failure";
    case Outcome::perm_failure:
      return "perm-failure";
  }
  return "temp-failure";
}

Result submit(const Endpoint& to, const Options& options, const Submission& submission,
              const std::vector<std::string_view>& message) {
  if (!safe_address(submission.sender) || submission.recipients.empty() || !safe_args(options.helo) ||
      options.helo.empty()) {
    return {Outcome::perm_failure, "unusable sender, HELO name or no recipients", "mail"};
  }
  for (const Recipient& r : submission.recipients) {
    if (r.address.empty() || !safe_address(r.address) || !safe_args(r.dsn_args)) {
      return {Outcome::perm_failure, "unusable recipient address", "rcpt"};
    }
  }
  const char* step = "connect";
  try {
    Connection c(to, options.connect_timeout);
    auto command_deadline = [&] { return Clock::now() + options.command_timeout; };
    step = "greeting";
    Reply r = c.read_reply(command_deadline());
    if (r.code != 220) return failed(r, step);

    step = "ehlo";
    c.send("EHLO " + options.helo + "\r\n", command_deadline());
    r = c.read_reply(command_deadline());
    if (r.code != 250) return failed(r, step);
    bool size = false, eight_bit = false, dsn = false, smtputf8 = false;
    std::vector<std::string> xforward_offered;
    for (std::size_t i = 1; i < r.lines.size(); ++i) {
      const std::string& ext = r.lines[i];
      if (core::istarts_with(ext, "XFORWARD ")) {
        const std::string attributes = ext.substr(9);
        for (auto word : core::split(attributes, ' ')) {
          if (!word.empty()) xforward_offered.push_back(core::ascii_lower(word));
        }
      }
      size = size || core::iequals(ext, "SIZE") || core::istarts_with(ext, "SIZE ");
      eight_bit = eight_bit || core::iequals(ext, "8BITMIME");
      dsn = dsn || core::iequals(ext, "DSN");
      smtputf8 = smtputf8 || core::iequals(ext, "SMTPUTF8");
    }

    std::size_t total = 0;
    bool has_8bit = false;
    for (std::string_view piece : message) {
      total += piece.size();
      has_8bit = has_8bit || DataWriter::is_8bit(piece);
    }
    bool utf8_address = DataWriter::is_8bit(submission.sender);
    for (const Recipient& rcpt : submission.recipients)
      utf8_address = utf8_address || DataWriter::is_8bit(rcpt.address);
    if (utf8_address && !smtputf8) {
      c.send("QUIT\r\n", command_deadline());
      return {Outcome::perm_failure, "server does not offer SMTPUTF8 for a non-ASCII address", "mail"};
    }
    if (has_8bit && !eight_bit) {
      c.send("QUIT\r\n", command_deadline());
      return {Outcome::temp_failure, "server does not offer 8BITMIME for an 8-bit message", "mail"};
    }

    std::string xforward;
    for (const auto& [name, value] : submission.xforward) {
      if (value.empty() || std::find(xforward_offered.begin(), xforward_offered.end(), core::ascii_lower(name)) ==
                               xforward_offered.end()) {
        continue;
      }
      xforward += " " + name + "=" + xtext(value.substr(0, 255));
    }
    if (!xforward.empty()) {
      step = "xforward";
      c.send("XFORWARD" + xforward + "\r\n", command_deadline());
      r = c.read_reply(command_deadline());
      if (r.code != 250) return failed(r, step);
    }

    step = "mail";
    std::string mail = "MAIL FROM:<" + submission.sender + ">";
    if (size) mail += " SIZE=" + std::to_string(total);
    if (has_8bit) mail += " BODY=8BITMIME";
    if (utf8_address) mail += " SMTPUTF8";
    c.send(mail + "\r\n", command_deadline());
    r = c.read_reply(command_deadline());
    if (r.code != 250) return failed(r, step);

    step = "rcpt";
    for (const Recipient& rcpt : submission.recipients) {
      std::string line = "RCPT TO:<" + rcpt.address + ">";
      if (dsn && !rcpt.dsn_args.empty()) line += " " + rcpt.dsn_args;
      c.send(line + "\r\n", command_deadline());
      r = c.read_reply(command_deadline());
      if (r.code != 250 && r.code != 251) {
        Result refused = failed(r, step);
        refused.reply = "<" + rcpt.address + ">: " + refused.reply;
        try {
          c.send("RSET\r\nQUIT\r\n", command_deadline());
        } catch (const Broken&) {
        }
        return refused;
      }
    }

    step = "data";
    c.send("DATA\r\n", command_deadline());
    r = c.read_reply(command_deadline());
    if (r.code != 354) return failed(r, step);

    step = "message";
    const auto data_deadline = Clock::now() + options.data_timeout;
    DataWriter writer;
    for (std::string_view piece : message) {
      // Large pieces go out in slices so the copy never doubles in memory.
      constexpr std::size_t kSlice = 64 * 1024;
      for (std::size_t at = 0; at < piece.size(); at += kSlice) {
        c.send(writer.feed(piece.substr(at, kSlice)), data_deadline);
      }
    }
    c.send(writer.finish(), data_deadline);
    r = c.read_reply(data_deadline);
    if (r.code != 250) return failed(r, step);
    Result ok{Outcome::accepted, r.text(), "quit"};
    try {
      c.send("QUIT\r\n", command_deadline());
      c.read_reply(command_deadline());
    } catch (const Broken&) {
      // The message is accepted; a lost QUIT changes nothing.
    }
    return ok;
  } catch (const Broken& e) {
    return {Outcome::temp_failure, e.what(), step};
  }
}

}  // namespace postern::smtp
