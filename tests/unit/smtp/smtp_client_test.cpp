// The client against a scripted SMTP server on a free loopback port: the
// commands it sends, what it makes of each kind of reply, and timeouts.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "postern/smtp/client.hpp"

namespace postern::smtp {
namespace {

// Accepts one connection and answers each command line with the function's
// reply; "" closes the connection, "\x01" stays silent. The DATA content is
// collected until ".\r\n".
class ScriptedServer {
 public:
  using Script = std::function<std::string(const std::string& command)>;

  explicit ScriptedServer(Script script, std::string greeting = "220 test ESMTP\r\n")
      : script_(std::move(script)), greeting_(std::move(greeting)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_, 1) != 0) {
      throw std::runtime_error("listen failed");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    if (thread_.joinable()) thread_.join();
  }
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  unsigned port() const { return port_; }
  // What the client sent; waits for the client to hang up first.
  std::string commands() {
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    return commands_;
  }
  std::string data() {
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    return data_;
  }

 private:
  void serve() {
    const int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    // MSG_NOSIGNAL: the client may have hung up already.
    auto send = [fd](const std::string& s) { (void)!::send(fd, s.data(), s.size(), MSG_NOSIGNAL); };
    send(greeting_);
    std::string buffer;
    bool in_data = false;
    char chunk[4096];
    for (;;) {
      const auto nl = buffer.find("\r\n");
      if (nl == std::string::npos) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 2);
      if (in_data) {
        if (line == ".") {
          in_data = false;
          line = "<end of data>";
          std::lock_guard lock(mutex_);
          commands_ += line + "\n";
        } else {
          std::lock_guard lock(mutex_);
          data_ += line + "\r\n";
          continue;
        }
      } else {
        std::lock_guard lock(mutex_);
        commands_ += line + "\n";
      }
      const std::string reply = script_(line);
      if (reply.empty()) break;
      if (reply == "\x01") {
        std::this_thread::sleep_for(std::chrono::milliseconds(700));
        break;
      }
      if (line == "DATA" && reply.rfind("354", 0) == 0) in_data = true;
      send(reply);
    }
    ::close(fd);
  }

  Script script_;
  std::string greeting_;
  int listener_ = -1;
  unsigned port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::string commands_;
  std::string data_;
};

std::string happy(const std::string& cmd) {
  if (cmd.rfind("EHLO", 0) == 0) return "250-test\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250 DSN\r\n";
  if (cmd == "DATA") return "354 go ahead\r\n";
  if (cmd == "<end of data>") return "250 2.0.0 Ok: queued as ABC123\r\n";
  if (cmd == "QUIT") return "221 bye\r\n";
  return "250 2.1.0 Ok\r\n";
}

Options fast() {
  Options o;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.command_timeout = std::chrono::milliseconds(300);
  o.data_timeout = std::chrono::milliseconds(2000);
  o.helo = "gw.example.org";
  return o;
}

Submission two_recipients() {
  return {"alice@example.org", {{"bob@example.com", "NOTIFY=NEVER"}, {"carol@example.com", ""}}};
}

TEST(SmtpClient, SubmitsWithSizeDsnAndDotStuffing) {
  ScriptedServer server(happy);
  const std::string header = "Subject: x\n\n";
  const std::string body = ".leading dot\nline\n";
  Result r = submit({"127.0.0.1", server.port()}, fast(), two_recipients(), {header, body});
  EXPECT_EQ(r.outcome, Outcome::accepted) << r.reply;
  EXPECT_EQ(r.reply, "250 2.0.0 Ok: queued as ABC123");
  EXPECT_EQ(server.commands(),
            "EHLO gw.example.org\n"
            "MAIL FROM:<alice@example.org> SIZE=30\n"
            "RCPT TO:<bob@example.com> NOTIFY=NEVER\n"
            "RCPT TO:<carol@example.com>\n"
            "DATA\n<end of data>\nQUIT\n");
  EXPECT_EQ(server.data(), "Subject: x\r\n\r\n..leading dot\r\nline\r\n");
}

TEST(SmtpClient, NullSenderAnd8BitBody) {
  ScriptedServer server(happy);
  Result r =
      submit({"127.0.0.1", server.port()}, fast(), {"", {{"bob@example.com", ""}}}, {"S: Gr\xc3\xbc\xc3\x9f\r\n\r\n"});
  EXPECT_EQ(r.outcome, Outcome::accepted) << r.reply;
  EXPECT_NE(server.commands().find("MAIL FROM:<> SIZE=13 BODY=8BITMIME\n"), std::string::npos) << server.commands();
}

TEST(SmtpClient, XforwardOnlyTheOfferedAttributes) {
  ScriptedServer server([](const std::string& cmd) {
    if (cmd.rfind("EHLO", 0) == 0) return std::string("250-test\r\n250 XFORWARD NAME ADDR PROTO HELO\r\n");
    return happy(cmd);
  });
  Submission s = two_recipients();
  s.xforward = {{"NAME", "mail.example.net"}, {"ADDR", "192.0.2.7"}, {"HELO", "a b=c"}, {"IDENT", "x"}, {"PROTO", ""}};
  Result r = submit({"127.0.0.1", server.port()}, fast(), s, {"a: b\r\n\r\nx\r\n"});
  EXPECT_EQ(r.outcome, Outcome::accepted) << r.reply;
  EXPECT_NE(server.commands().find("EHLO gw.example.org\nXFORWARD NAME=mail.example.net ADDR=192.0.2.7 HELO=a+20b+3Dc\n"
                                   "MAIL FROM:<alice@example.org>\n"),
            std::string::npos)
      << server.commands();
}

TEST(SmtpClient, NonAsciiAddressNeedsSmtpUtf8) {
  ScriptedServer with([](const std::string& cmd) {
    if (cmd.rfind("EHLO", 0) == 0) return std::string("250-test\r\n250 SMTPUTF8\r\n");
    return happy(cmd);
  });
  const Submission utf8{"j\xc3\xb6rg@example.org", {{"bob@example.com", ""}}};
  EXPECT_EQ(submit({"127.0.0.1", with.port()}, fast(), utf8, {"a: b\r\n\r\nx\r\n"}).outcome, Outcome::accepted);
  EXPECT_NE(with.commands().find("MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8\n"), std::string::npos);

  ScriptedServer without([](const std::string& cmd) {
    if (cmd.rfind("EHLO", 0) == 0) return std::string("250 test\r\n");
    return happy(cmd);
  });
  EXPECT_EQ(submit({"127.0.0.1", without.port()}, fast(), utf8, {"a: b\r\n\r\nx\r\n"}).outcome, Outcome::perm_failure);
  EXPECT_EQ(without.commands().find("MAIL FROM"), std::string::npos);
}

TEST(SmtpClient, DsnArgumentsOnlyWhenOffered) {
  ScriptedServer server([](const std::string& cmd) {
    if (cmd.rfind("EHLO", 0) == 0) return std::string("250 test\r\n");
    return happy(cmd);
  });
  Result r = submit({"127.0.0.1", server.port()}, fast(), two_recipients(), {"a: b\r\n\r\nx\r\n"});
  EXPECT_EQ(r.outcome, Outcome::accepted);
  EXPECT_NE(server.commands().find("MAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.com>\n"), std::string::npos)
      << server.commands();
}

TEST(SmtpClient, EightBitWithout8BitMimeIsATempFailure) {
  ScriptedServer server([](const std::string& cmd) {
    if (cmd.rfind("EHLO", 0) == 0) return std::string("250 test\r\n");
    return happy(cmd);
  });
  Result r = submit({"127.0.0.1", server.port()}, fast(), two_recipients(), {"S: \xff\r\n\r\n"});
  EXPECT_EQ(r.outcome, Outcome::temp_failure);
  EXPECT_EQ(server.commands().find("MAIL FROM"), std::string::npos);
}

TEST(SmtpClient, RefusedRecipientAbandonsTheTransaction) {
  ScriptedServer server([](const std::string& cmd) {
    if (cmd == "RCPT TO:<carol@example.com>") return std::string("550 5.1.1 <carol@example.com>: unknown\r\n");
    return happy(cmd);
  });
  Result r = submit({"127.0.0.1", server.port()}, fast(), two_recipients(), {"a: b\r\n\r\nx\r\n"});
  EXPECT_EQ(r.outcome, Outcome::perm_failure);
  EXPECT_EQ(r.step, "rcpt");
  EXPECT_NE(r.reply.find("550 5.1.1"), std::string::npos) << r.reply;
  EXPECT_EQ(server.commands().find("DATA"), std::string::npos) << "no DATA after a refused recipient";
  EXPECT_NE(server.commands().find("RSET"), std::string::npos);
}

TEST(SmtpClient, TempReplyAfterDataIsATempFailure) {
  ScriptedServer server([](const std::string& cmd) {
    if (cmd == "<end of data>") return std::string("451-4.3.0 milter says\r\n451 4.3.0 try later\r\n");
    return happy(cmd);
  });
  Result r = submit({"127.0.0.1", server.port()}, fast(), two_recipients(), {"a: b\r\n\r\nx\r\n"});
  EXPECT_EQ(r.outcome, Outcome::temp_failure);
  EXPECT_EQ(r.reply, "451 4.3.0 milter says / 4.3.0 try later");
  EXPECT_EQ(r.step, "message");
}

TEST(SmtpClient, ServerBusyGreeting) {
  ScriptedServer server(happy, "554 5.3.2 not now\r\n");
  Result r = submit({"127.0.0.1", server.port()}, fast(), two_recipients(), {"x\r\n"});
  EXPECT_EQ(r.outcome, Outcome::perm_failure);
  EXPECT_EQ(r.step, "greeting");
}

TEST(SmtpClient, SilentServerTimesOut) {
  ScriptedServer server(
      [](const std::string& cmd) { return cmd.rfind("MAIL", 0) == 0 ? std::string("\x01") : happy(cmd); });
  const auto start = std::chrono::steady_clock::now();
  Result r = submit({"127.0.0.1", server.port()}, fast(), two_recipients(), {"x\r\n"});
  EXPECT_EQ(r.outcome, Outcome::temp_failure);
  EXPECT_EQ(r.step, "mail");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(SmtpClient, ClosedPortIsATempFailure) {
  unsigned port = 0;
  {
    ScriptedServer probe(happy);
    port = probe.port();
    (void)submit({"127.0.0.1", port}, fast(), two_recipients(), {"x\r\n"});
  }
  Result r = submit({"127.0.0.1", port}, fast(), two_recipients(), {"x\r\n"});
  EXPECT_EQ(r.outcome, Outcome::temp_failure);
  EXPECT_EQ(r.step, "connect");
}

TEST(SmtpClient, RefusesAddressesThatCouldInjectCommands) {
  Result r = submit({"127.0.0.1", 9}, fast(), {"a@b>\r\nRCPT TO:<x@y", {{"bob@example.com", ""}}}, {"x\r\n"});
  EXPECT_EQ(r.outcome, Outcome::perm_failure);
  r = submit({"127.0.0.1", 9}, fast(), {"a@b", {{"bob@example.com", "NOTIFY=NEVER\r\nDATA"}}}, {"x\r\n"});
  EXPECT_EQ(r.outcome, Outcome::perm_failure);
  r = submit({"127.0.0.1", 9}, fast(), {"a@b", {}}, {"x\r\n"});
  EXPECT_EQ(r.outcome, Outcome::perm_failure);
}

}  // namespace
}  // namespace postern::smtp
