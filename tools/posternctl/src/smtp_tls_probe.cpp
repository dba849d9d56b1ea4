#include "postern/ctl/smtp_tls_probe.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "postern/core/c_unique.hpp"
#include "postern/core/fd.hpp"

namespace postern::ctl {

namespace {

using SslCtx = core::CUnique<SSL_CTX, &SSL_CTX_free>;
using Ssl = core::CUnique<SSL, &SSL_free>;
using Bio = core::CUnique<BIO, &BIO_free_all>;
using AddrInfo = core::CUnique<addrinfo, &freeaddrinfo>;

// Enough for any sane SMTP reply; a server that sends more is broken.
constexpr std::size_t kMaxLine = 4096;
constexpr int kMaxReplyLines = 200;

// The oldest queued OpenSSL error as text, and the queue cleared.
std::string ssl_error(const char* what) {
  std::string out = what;
  if (unsigned long e = ERR_get_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += ": ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

bool is_address(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string name_text(const X509_NAME* name) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string time_text(const ASN1_TIME* t) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || ASN1_TIME_print(bio.get(), t) != 1) return "?";
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string fingerprint(const X509* cert, const EVP_MD* md) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, md, digest, &len) != 1) return "?";
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    if (i != 0) out += ':';
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

CertInfo describe(X509* cert) {
  CertInfo info;
  const X509_NAME* subject = X509_get_subject_name(cert);
  info.subject = name_text(subject);
  info.issuer = name_text(X509_get_issuer_name(cert));
  info.not_before = time_text(X509_get0_notBefore(cert));
  info.not_after = time_text(X509_get0_notAfter(cert));
  for (int i = X509_NAME_get_index_by_NID(subject, NID_organizationName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_organizationName, i)) {
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, value);
    if (len >= 0) {
      info.organizations.emplace_back(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
      OPENSSL_free(utf8);
    }
  }
  info.sha1 = fingerprint(cert, EVP_sha1());
  info.sha256 = fingerprint(cert, EVP_sha256());
  return info;
}

// The SMTP conversation: plain text first, then the same socket under TLS.
class Conversation {
 public:
  explicit Conversation(core::Fd fd) : fd_(std::move(fd)) {}

  int fd() const noexcept { return fd_.get(); }
  void secure(SSL* ssl) noexcept { ssl_ = ssl; }
  // Bytes already read past the last reply.
  bool buffered() const noexcept { return !buffer_.empty(); }

  void send(const std::string& line) {
    const std::string data = line + "\r\n";
    std::size_t done = 0;
    while (done < data.size()) {
      const char* p = data.data() + done;
      const std::size_t left = data.size() - done;
      long n = ssl_ != nullptr ? SSL_write(ssl_, p, static_cast<int>(left))
                               : ::send(fd_.get(), p, left, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error(io_error("sending " + line));
      done += static_cast<std::size_t>(n);
    }
  }

  // A whole reply: its code and every line's text.
  struct Reply {
    int code = 0;
    std::vector<std::string> lines;
  };

  Reply reply() {
    Reply r;
    for (int n = 0; n < kMaxReplyLines; ++n) {
      const std::string line = read_line();
      if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
          !std::isdigit(static_cast<unsigned char>(line[1])) || !std::isdigit(static_cast<unsigned char>(line[2])) ||
          (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        throw std::runtime_error("not an SMTP reply: '" + line.substr(0, 80) + "'");
      }
      r.code = std::stoi(line.substr(0, 3));
      r.lines.push_back(line.size() > 4 ? line.substr(4) : "");
      if (line.size() == 3 || line[3] == ' ') return r;
    }
    throw std::runtime_error("reply of more than " + std::to_string(kMaxReplyLines) + " lines");
  }

 private:
  std::string read_line() {
    while (true) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (buffer_.size() > kMaxLine) throw std::runtime_error("reply line longer than " + std::to_string(kMaxLine));
      char buf[1024];
      long n = ssl_ != nullptr ? SSL_read(ssl_, buf, sizeof buf) : ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) throw std::runtime_error(n == 0 && ssl_ == nullptr ? "connection closed by the server"
                                                                     : io_error("reading a reply"));
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

  std::string io_error(const std::string& what) const {
    if (ssl_ != nullptr) return ssl_error(what.c_str());
    return what + ": " + (errno == EAGAIN || errno == EWOULDBLOCK ? std::string("timed out") : std::strerror(errno));
  }

  core::Fd fd_;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

core::Fd connect_to(const ProbeOptions& o, std::string& peer) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(o.port);
  if (int rc = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    throw std::runtime_error("cannot resolve " + o.host + ": " + gai_strerror(rc));
  }
  AddrInfo list(found);
  std::string last_error = "no address";
  for (const addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    core::Fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!fd.valid()) continue;
    // Linux applies SO_SNDTIMEO to connect() as well.
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(o.timeout.count());
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char host[NI_MAXHOST];
    getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) {
      peer = (a->ai_family == AF_INET6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + port;
      return fd;
    }
    last_error = std::string(host) + ": " + (errno == EINPROGRESS ? "timed out" : std::strerror(errno));
  }
  throw std::runtime_error("cannot connect to " + o.host + " port " + port + ": " + last_error);
}

SslCtx make_context(const ProbeOptions& o) {
  SslCtx ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw std::runtime_error(ssl_error("cannot create a TLS context"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // The handshake goes on whatever the chain: the verdict is read from
  // SSL_get_verify_result() afterwards, so the chain can be shown.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1) {
    throw std::runtime_error(ssl_error(("cannot read CA file " + o.ca_file).c_str()));
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1) {
      throw std::runtime_error(ssl_error(("cannot read client certificate " + o.cert_file).c_str()));
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      throw std::runtime_error(ssl_error(("cannot read client key " + o.key_file).c_str()));
    }
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
      throw std::runtime_error(ssl_error((o.key_file + " is not the key of " + o.cert_file).c_str()));
    }
  }
  return ctx;
}

void handshake(const ProbeOptions& o, SSL_CTX* ctx, Conversation& c, ProbeResult& r) {
  Ssl ssl(SSL_new(ctx));
  if (!ssl) throw std::runtime_error(ssl_error("cannot create a TLS session"));
  // Called on the client exactly when the server asks for a certificate.
  SSL_set_cert_cb(
      ssl.get(),
      [](SSL*, void* arg) {
        *static_cast<bool*>(arg) = true;
        return 1;
      },
      &r.client_cert_requested);
  SSL_set_fd(ssl.get(), c.fd());
  if (!is_address(o.host)) {
    // SSL_set_tlsext_host_name() is a macro with a C cast; this is what it
    // expands to. OpenSSL copies the name and does not write through it.
    SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(o.host.c_str()));
  }
  const int rc = SSL_connect(ssl.get());
  // What the server showed counts even when the handshake then failed.
  if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get())) {
    for (int i = 0; i < sk_X509_num(chain); ++i) r.chain.push_back(describe(sk_X509_value(chain, i)));
  }
  const std::string handshake_error = rc == 1 ? std::string() : ssl_error("TLS handshake failed");
  const long verify = SSL_get_verify_result(ssl.get());
  if (verify != X509_V_OK) r.chain_error = X509_verify_cert_error_string(verify);
  X509* leaf = SSL_get0_peer_certificate(ssl.get());
  const std::string& match = o.match.empty() ? o.host : o.match;
  if (leaf != nullptr) {
    r.name_matches = is_address(match) ? X509_check_ip_asc(leaf, match.c_str(), 0) == 1
                                       : X509_check_host(leaf, match.c_str(), match.size(), 0, nullptr) == 1;
  } else {
    r.chain_error = "the server sent no certificate";
  }
  if (rc != 1) {
    r.failure = handshake_error;
    return;
  }
  r.tls_version = SSL_get_version(ssl.get());
  r.cipher = SSL_get_cipher_name(ssl.get());
  c.secure(ssl.get());
  try {
    c.send("EHLO " + o.helo);
    const auto ehlo = c.reply();
    r.ehlo_after_tls = std::to_string(ehlo.code) + " " + ehlo.lines.front();
    c.send("QUIT");
    c.reply();
    SSL_shutdown(ssl.get());
  } catch (const std::exception& e) {
    // A server that refuses our (missing) client certificate says so here,
    // with a TLS alert, once TLS 1.3 has finished the handshake.
    if (r.ehlo_after_tls.empty()) r.failure = std::string("after the handshake: ") + e.what();
  }
  c.secure(nullptr);
}

}  // namespace

ProbeResult probe(const ProbeOptions& o) {
  SslCtx ctx = make_context(o);
  ProbeResult r;
  try {
    Conversation c(connect_to(o, r.peer));
    auto greeting = c.reply();
    r.greeting = std::to_string(greeting.code) + " " + greeting.lines.front();
    if (greeting.code != 220) {
      r.failure = "the server does not accept mail: " + r.greeting;
      return r;
    }
    c.send("EHLO " + o.helo);
    auto ehlo = c.reply();
    if (ehlo.code != 250) {
      r.failure = "EHLO refused: " + std::to_string(ehlo.code) + " " + ehlo.lines.front();
      return r;
    }
    for (std::size_t i = 1; i < ehlo.lines.size(); ++i) {
      const std::string& l = ehlo.lines[i];
      if (l.size() >= 8 && strncasecmp(l.c_str(), "STARTTLS", 8) == 0 && (l.size() == 8 || l[8] == ' ')) {
        r.starttls_offered = true;
      }
    }
    if (!r.starttls_offered) {
      r.failure = "the server does not offer STARTTLS";
      return r;
    }
    c.send("STARTTLS");
    auto go = c.reply();
    if (go.code != 220) {
      r.failure = "STARTTLS refused: " + std::to_string(go.code) + " " + go.lines.front();
      return r;
    }
    if (c.buffered()) {
      r.failure = "the server sent data after its 220 to STARTTLS (command injection?)";
      return r;
    }
    handshake(o, ctx.get(), c, r);
  } catch (const std::exception& e) {
    r.failure = e.what();
  }
  return r;
}

}  // namespace postern::ctl
