#include <gtest/gtest.h>
#include <openssl/ocsp.h>
#include <stdlib.h>

#include <filesystem>

#include "postern/ossl/certificate.hpp"
#include "postern/ossl/error.hpp"
#include "postern/revocation/checker.hpp"
#include "postern/revocation/checks.hpp"
#include "postern/revocation/http.hpp"
#include "postern/testing/test_pki.hpp"

namespace postern::revocation {
namespace {

using testing::CertSpec;
using testing::Issued;
using testing::TestPki;

using AsnTimePtr = core::CUnique<ASN1_TIME, &ASN1_TIME_free>;

struct OcspSpec {
  int status = V_OCSP_CERTSTATUS_GOOD;
  int reason = -1;
  long this_offset = -60;  // seconds from now
  std::optional<long> next_offset = 3600;
  const Issued* signer = nullptr;  // default: the issuer
  bool copy_nonce = true;
  bool other_nonce = false;
  X509* covered = nullptr;  // default: the certificate asked about
};

class RevocationTest : public ::testing::Test {
 protected:
  RevocationTest() {
    leaf = pki.issue({.emails = {"alice@example.org"}});
    window.now = std::time(nullptr);
  }

  std::string response(const OcspQuery& q, X509* cert, const OcspSpec& spec) {
    ossl::OcspBasicPtr bs(OCSP_BASICRESP_new());
    X509* issuer = pki.intermediate().cert.get();
    OCSP_CERTID* id = OCSP_cert_to_id(nullptr, spec.covered != nullptr ? spec.covered : cert, issuer);
    AsnTimePtr this_update(X509_gmtime_adj(nullptr, spec.this_offset));
    AsnTimePtr next_update(spec.next_offset ? X509_gmtime_adj(nullptr, *spec.next_offset) : nullptr);
    AsnTimePtr revoked_at(X509_gmtime_adj(nullptr, -86400));
    EXPECT_NE(OCSP_basic_add1_status(bs.get(), id, spec.status, spec.reason,
                                     spec.status == V_OCSP_CERTSTATUS_REVOKED ? revoked_at.get() : nullptr,
                                     this_update.get(), next_update.get()),
              nullptr);
    OCSP_CERTID_free(id);
    if (spec.other_nonce) {
      unsigned char n[16] = {1, 2, 3};
      OCSP_basic_add1_nonce(bs.get(), n, sizeof n);
    } else if (spec.copy_nonce && q.request) {
      OCSP_copy_nonce(bs.get(), q.request.get());
    }
    const Issued& signer = spec.signer != nullptr ? *spec.signer : pki.intermediate();
    EXPECT_EQ(OCSP_basic_sign(bs.get(), signer.cert.get(), signer.key.get(), EVP_sha256(), nullptr, 0), 1);
    ossl::OcspResponsePtr resp(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs.get()));
    unsigned char* der = nullptr;
    const int n = i2d_OCSP_RESPONSE(resp.get(), &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    return out;
  }

  Finding ask(const OcspSpec& spec) {
    OcspQuery q = make_ocsp_query(leaf.cert.get(), pki.intermediate().cert.get(), true);
    return evaluate_ocsp_response(response(q, leaf.cert.get(), spec), q, leaf.cert.get(), pki.intermediate().cert.get(),
                                  window);
  }

  ossl::X509CrlPtr crl(const std::string& pem) {
    auto crls = ossl::read_crls(pem);
    EXPECT_EQ(crls.size(), 1u);
    return std::move(crls.front());
  }

  TestPki pki;
  Issued leaf;
  Window window;
};

TEST(HttpUrl, AcceptsPlainHttpOnly) {
  auto u = parse_http_url("http://ocsp.example.org/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "ocsp.example.org");
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->path, "/");
  u = parse_http_url("HTTP://127.0.0.1:8080/ca/sub.crl?x=1#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->path, "/ca/sub.crl?x=1");
  u = parse_http_url("http://[::1]:81");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->path, "/");

  std::string why;
  EXPECT_FALSE(parse_http_url("https://ocsp.example.org/", &why));
  EXPECT_NE(why.find("only http://"), std::string::npos) << why;
  EXPECT_FALSE(parse_http_url("ldap://dir.example.org/cn=CA?certificateRevocationList", &why));
  EXPECT_FALSE(parse_http_url("http://user@host/", &why));
  EXPECT_FALSE(parse_http_url("http://host:99999/", &why));
  EXPECT_FALSE(parse_http_url("http://host:/", &why));
  EXPECT_FALSE(parse_http_url("http://bad host/", &why));
  EXPECT_FALSE(parse_http_url("http://host/a\r\nInjected: 1", &why));
  EXPECT_FALSE(parse_http_url("http:///path", &why));
}

std::string parse_error(std::string_view raw, std::size_t max = 100) {
  try {
    parse_http_response(raw, max);
  } catch (const FetchError& e) {
    return e.what();
  }
  return "parsed";
}

TEST(HttpResponse, ParsesStatusHeadersAndBody) {
  HttpResponse r = parse_http_response(
      "HTTP/1.0 200 OK\r\nContent-Type: Application/OCSP-Response; x=y\r\nContent-Length: 3\r\n\r\nabcdef", 100);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/ocsp-response");
  EXPECT_EQ(r.body, "abc");
  r = parse_http_response("HTTP/1.1 200 OK\n\nuntil the end", 100);
  EXPECT_EQ(r.body, "until the end");
  r = parse_http_response("HTTP/1.1 200 OK\r\n\r\n", 100);
  EXPECT_EQ(r.body, "");

  EXPECT_EQ(parse_error("HTTP/1.0 404 Not Found\r\n\r\nnope"), "HTTP status 404");
  EXPECT_EQ(parse_error("HTTP/1.0 301 Moved\r\nLocation: http://x/\r\n\r\n"), "HTTP status 301");
  EXPECT_EQ(parse_error("HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n"), "response larger than 100 bytes");
  EXPECT_EQ(parse_error("HTTP/1.0 200 OK\r\n\r\n" + std::string(101, 'x')), "response larger than 100 bytes");
  EXPECT_EQ(parse_error("HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nshort"), "response body cut short");
  EXPECT_EQ(parse_error("HTTP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n"), "malformed Content-Length");
  EXPECT_EQ(parse_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
            "unsupported Transfer-Encoding");
  EXPECT_EQ(parse_error("SMTP/1.0 200 OK\r\n\r\n"), "malformed HTTP status line");
  EXPECT_EQ(parse_error("HTTP/1.0 2x0 OK\r\n\r\n"), "malformed HTTP status line");
  EXPECT_EQ(parse_error("HTTP/1.0 200 OK\r\nno end of headers"), "malformed HTTP response (no header end)");
  EXPECT_EQ(parse_error(""), "malformed HTTP response (no header end)");
}

TEST_F(RevocationTest, ReadsAiaAndDistributionPoints) {
  EXPECT_TRUE(ocsp_urls(leaf.cert.get()).empty());
  EXPECT_TRUE(crl_urls(leaf.cert.get()).empty());
  testing::add_extension(leaf, pki.intermediate(), NID_info_access,
                         "OCSP;URI:http://127.0.0.1:1/ocsp,caIssuers;URI:http://127.0.0.1:1/ca.cer");
  testing::add_extension(leaf, pki.intermediate(), NID_crl_distribution_points,
                         "URI:http://127.0.0.1:2/a.crl,URI:ldap://x/cn=y");
  EXPECT_EQ(ocsp_urls(leaf.cert.get()), std::vector<std::string>{"http://127.0.0.1:1/ocsp"});
  EXPECT_EQ(crl_urls(leaf.cert.get()), (std::vector<std::string>{"http://127.0.0.1:2/a.crl", "ldap://x/cn=y"}));
  // Re-signed by the issuer: still verifies.
  EXPECT_EQ(X509_verify(leaf.cert.get(), X509_get0_pubkey(pki.intermediate().cert.get())), 1);
}

TEST_F(RevocationTest, OcspGoodAndRevokedFromTheIssuer) {
  Finding f = ask({});
  EXPECT_EQ(f.status, Status::good) << f.why;
  EXPECT_GT(f.next_update, window.now);
  f = ask({.status = V_OCSP_CERTSTATUS_REVOKED, .reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE});
  EXPECT_EQ(f.status, Status::revoked) << f.why;
  EXPECT_EQ(f.reason, "keyCompromise");
  EXPECT_NEAR(static_cast<double>(f.revoked_at), static_cast<double>(window.now - 86400), 5.0);
  f = ask({.status = V_OCSP_CERTSTATUS_UNKNOWN});
  EXPECT_EQ(f.status, Status::unknown);
  EXPECT_NE(f.why.find("does not know"), std::string::npos) << f.why;
}

TEST_F(RevocationTest, OcspDelegatedResponderNeedsOcspSigning) {
  Issued responder =
      pki.issue({.common_name = "OCSP", .key_usage = "critical,digitalSignature", .ext_key_usage = "OCSPSigning"});
  Finding f = ask({.signer = &responder});
  EXPECT_EQ(f.status, Status::good) << f.why;

  Issued plain = pki.issue({.common_name = "Not OCSP", .emails = {"x@example.org"}});
  f = ask({.signer = &plain});
  EXPECT_EQ(f.status, Status::unknown);
  EXPECT_NE(f.why.find("OCSPSigning"), std::string::npos) << f.why;

  TestPki other;  // same names, other keys
  Issued foreign =
      other.issue({.common_name = "OCSP", .key_usage = "critical,digitalSignature", .ext_key_usage = "OCSPSigning"});
  f = ask({.signer = &foreign});
  EXPECT_EQ(f.status, Status::unknown);
  EXPECT_NE(f.why.find("issuer"), std::string::npos) << f.why;

  f = ask({.signer = &other.intermediate()});  // the look-alike CA signs itself
  EXPECT_EQ(f.status, Status::unknown);
}

TEST_F(RevocationTest, OcspStaleOrFutureResponsesRefused) {
  Finding f = ask({.this_offset = -7200, .next_offset = -3600});
  EXPECT_EQ(f.status, Status::unknown);
  EXPECT_NE(f.why.find("stale"), std::string::npos) << f.why;
  f = ask({.this_offset = 3600});
  EXPECT_EQ(f.status, Status::unknown);
  EXPECT_NE(f.why.find("not yet valid"), std::string::npos) << f.why;
  // Within the skew is fine.
  EXPECT_EQ(ask({.this_offset = 60}).status, Status::good);
  // No nextUpdate: thisUpdate must be younger than max_age.
  window.max_age = std::chrono::seconds(600);
  EXPECT_EQ(ask({.next_offset = std::nullopt}).status, Status::good);
  f = ask({.this_offset = -1200, .next_offset = std::nullopt});
  EXPECT_EQ(f.status, Status::unknown);
  EXPECT_NE(f.why.find("no nextUpdate"), std::string::npos) << f.why;
}

TEST_F(RevocationTest, OcspNonceAndCertIdMustMatch) {
  Finding f = ask({.other_nonce = true});
  EXPECT_EQ(f.status, Status::unknown);
  EXPECT_NE(f.why.find("nonce"), std::string::npos) << f.why;
  EXPECT_EQ(ask({.copy_nonce = false}).status, Status::good);
  window.require_nonce = true;
  EXPECT_EQ(ask({.copy_nonce = false}).status, Status::unknown);

  Issued other = pki.issue({.emails = {"bob@example.org"}});
  f = ask({.covered = other.cert.get()});
  EXPECT_EQ(f.status, Status::unknown);
  EXPECT_NE(f.why.find("does not cover"), std::string::npos) << f.why;
}

TEST_F(RevocationTest, OcspGarbageAndErrorStatuses) {
  OcspQuery q = make_ocsp_query(leaf.cert.get(), pki.intermediate().cert.get(), true);
  EXPECT_FALSE(q.der.empty());
  EXPECT_EQ(q.cert_id, ocsp_cert_id(leaf.cert.get(), pki.intermediate().cert.get()));
  for (std::string bad : {std::string(), std::string("\x30\x03\x0a\x01", 4), std::string(5000, 'A')}) {
    Finding f = evaluate_ocsp_response(bad, q, leaf.cert.get(), pki.intermediate().cert.get(), window);
    EXPECT_EQ(f.status, Status::unknown);
    EXPECT_FALSE(f.why.empty());
  }
  ossl::OcspResponsePtr later(OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, nullptr));
  unsigned char* der = nullptr;
  const int n = i2d_OCSP_RESPONSE(later.get(), &der);
  std::string body(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  Finding f = evaluate_ocsp_response(body, q, leaf.cert.get(), pki.intermediate().cert.get(), window);
  EXPECT_EQ(f.status, Status::unknown);
  EXPECT_NE(f.why.find("trylater"), std::string::npos) << f.why;
}

TEST_F(RevocationTest, CrlVerifiedWithTheIssuerKeyAndWindow) {
  Issued revoked = pki.issue({.emails = {"mallory@example.org"}});
  auto c = crl(pki.crl({&revoked}));
  X509* issuer = pki.intermediate().cert.get();
  EXPECT_EQ(crl_problem(c.get(), leaf.cert.get(), issuer, window), "");
  EXPECT_EQ(crl_lookup(c.get(), leaf.cert.get()).status, Status::good);
  Finding f = crl_lookup(c.get(), revoked.cert.get());
  EXPECT_EQ(f.status, Status::revoked);
  EXPECT_EQ(f.reason, "unspecified");
  EXPECT_GT(f.revoked_at, 0);

  // A look-alike CA (same name, other key) is refused.
  TestPki other;
  auto fake = crl(other.crl({}));
  EXPECT_NE(crl_problem(fake.get(), leaf.cert.get(), issuer, window).find("signature"), std::string::npos);
  // The root's CRL is not the intermediate's.
  auto root_crl = crl(pki.crl({}, true));
  EXPECT_NE(crl_problem(root_crl.get(), leaf.cert.get(), issuer, window).find("another CA"), std::string::npos);
  // Past its nextUpdate (7 days) it is stale.
  Window later = window;
  later.now += 8 * 86400;
  EXPECT_NE(crl_problem(c.get(), leaf.cert.get(), issuer, later).find("stale"), std::string::npos);
  // DER works too.
  auto crls = ossl::read_crls(pki.crl_der({}));
  ASSERT_EQ(crls.size(), 1u);
  EXPECT_EQ(crl_problem(crls.front().get(), leaf.cert.get(), issuer, window), "");
}

class ScratchDir {
 public:
  ScratchDir() {
    std::string t = (std::filesystem::temp_directory_path() / "postern-revocation-XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = t;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST_F(RevocationTest, CheckerUsesLocalCrlsAndTheMode) {
  ScratchDir dir;
  Issued revoked = pki.issue({.emails = {"mallory@example.org"}});
  Settings s;
  s.mode = Mode::hard_fail;
  s.crl_directory = dir.path();
  {
    Checker checker(s);
    Result r = checker.check(leaf.cert.get(), pki.intermediate().cert.get());
    EXPECT_EQ(r.status, Status::unknown);
    EXPECT_FALSE(r.accepted);
    EXPECT_NE(r.text().find("no responder URL"), std::string::npos) << r.text();
    EXPECT_NE(r.text().find("hard-fail"), std::string::npos) << r.text();
  }
  testing::write_file(dir.path() / "a.pem", pki.crl({&revoked}));
  Checker checker(s);
  Result r = checker.check(leaf.cert.get(), pki.intermediate().cert.get());
  EXPECT_EQ(r.status, Status::good) << r.text();
  EXPECT_TRUE(r.accepted);
  EXPECT_EQ(r.source, "crl file a.pem");
  r = checker.check(revoked.cert.get(), pki.intermediate().cert.get());
  EXPECT_EQ(r.status, Status::revoked) << r.text();
  EXPECT_FALSE(r.accepted);
  EXPECT_NE(r.text().find("revoked (crl file a.pem): unspecified since "), std::string::npos) << r.text();

  // A chain: the leaf is checked against the local CRL; the intermediate has
  // no revocation source: soft-fail accepts it, hard-fail refuses it.
  ChainResult chain =
      checker.check_chain(std::vector<X509*>{leaf.cert.get(), pki.intermediate().cert.get(), pki.root().cert.get()});
  EXPECT_FALSE(chain.accepted);
  ASSERT_EQ(chain.results.size(), 2u);
  EXPECT_EQ(chain.results[0].status, Status::good);
  EXPECT_EQ(chain.results[1].status, Status::unknown);
  s.mode = Mode::soft_fail;
  Checker soft(s);
  chain = soft.check_chain(std::vector<X509*>{leaf.cert.get(), pki.intermediate().cert.get(), pki.root().cert.get()});
  EXPECT_TRUE(chain.accepted) << chain.text();
  EXPECT_NE(chain.text().find("soft-fail: accepted"), std::string::npos) << chain.text();
  EXPECT_TRUE(chain.accepted_under(Mode::soft_fail));
  EXPECT_FALSE(chain.accepted_under(Mode::hard_fail));
  chain =
      soft.check_chain(std::vector<X509*>{revoked.cert.get(), pki.intermediate().cert.get(), pki.root().cert.get()});
  EXPECT_FALSE(chain.accepted);
  EXPECT_EQ(chain.results.size(), 1u);
  EXPECT_EQ(soft.stats().ocsp_requests + soft.stats().crl_requests, 0u);
}

TEST_F(RevocationTest, CheckerSkipsNonHttpUrls) {
  testing::add_extension(leaf, pki.intermediate(), NID_info_access, "OCSP;URI:https://127.0.0.1:1/");
  testing::add_extension(leaf, pki.intermediate(), NID_crl_distribution_points, "URI:ldap://x/cn=y");
  Checker checker(Settings{});
  Result r = checker.check(leaf.cert.get(), pki.intermediate().cert.get());
  EXPECT_EQ(r.status, Status::unknown);
  EXPECT_TRUE(r.accepted);  // soft-fail by default
  EXPECT_NE(r.why.find("not https"), std::string::npos) << r.why;
  EXPECT_NE(r.why.find("not ldap"), std::string::npos) << r.why;
  EXPECT_EQ(checker.stats().ocsp_requests, 0u);
}

TEST_F(RevocationTest, CheckPathBuildsTheChainFromTheTrustStore) {
  ScratchDir dir;
  Issued revoked = pki.issue({.emails = {"mallory@example.org"}});
  testing::write_file(dir.path() / "sub.crl", pki.crl_der({&revoked}));
  testing::write_file(dir.path() / "root.crl", pki.crl({}, true));
  ossl::X509StorePtr trust(X509_STORE_new());
  ASSERT_EQ(X509_STORE_add_cert(trust.get(), pki.root().cert.get()), 1);
  Settings s;
  s.mode = Mode::hard_fail;
  s.crl_directory = dir.path();
  Checker checker(s);

  ChainResult c = checker.check_path(leaf.cert.get(), trust.get(), {pki.intermediate().cert.get()});
  EXPECT_TRUE(c.accepted) << c.text();
  ASSERT_EQ(c.results.size(), 2u);  // leaf against sub.crl, intermediate against root.crl
  EXPECT_EQ(c.results[0].source, "crl file sub.crl");
  EXPECT_EQ(c.results[1].source, "crl file root.crl");

  c = checker.check_path(revoked.cert.get(), trust.get(), {pki.intermediate().cert.get()});
  EXPECT_FALSE(c.accepted);
  EXPECT_EQ(c.results.at(0).status, Status::revoked);

  // Without the intermediate there is no chain.
  c = checker.check_path(leaf.cert.get(), trust.get());
  EXPECT_FALSE(c.accepted);
  EXPECT_NE(c.text().find("no chain to a trust anchor"), std::string::npos) << c.text();
}

}  // namespace
}  // namespace postern::revocation
