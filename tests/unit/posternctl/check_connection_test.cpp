#include "postern/ctl/check_connection.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace postern::ctl {
namespace {

const std::string kSha1 = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD";
const std::string kSha256 =
    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

// --- command line ---

TEST(CheckOptions, Defaults) {
  CheckOptions o = parse_check_options({"mx.incamail.ch"});
  EXPECT_EQ(o.probe.host, "mx.incamail.ch");
  EXPECT_EQ(o.probe.port, 25u);
  EXPECT_EQ(o.probe.ca_file, "/etc/postfix/incamail/ca.pem");
  EXPECT_EQ(o.organization, "Post CH AG");
  EXPECT_EQ(o.probe.match, "");
  EXPECT_EQ(o.probe.timeout, std::chrono::seconds(30));
  EXPECT_FALSE(o.probe.helo.empty());
  EXPECT_EQ(o.sha1, "");
  EXPECT_EQ(o.sha256, "");
}

TEST(CheckOptions, EveryOption) {
  CheckOptions o = parse_check_options({"--ca", "/tmp/ca.pem", "[2001:db8::25]:2525", "--org=Test AG", "--sha1",
                                        kSha1, "--sha256", kSha256, "--match", "mx.example", "--cert", "c.pem",
                                        "--key", "k.pem", "--helo", "gw.example.ch", "--timeout", "5"});
  EXPECT_EQ(o.probe.host, "2001:db8::25");
  EXPECT_EQ(o.probe.port, 2525u);
  EXPECT_EQ(o.probe.ca_file, "/tmp/ca.pem");
  EXPECT_EQ(o.organization, "Test AG");
  EXPECT_EQ(o.sha1, "aabbccddeeff00112233445566778899aabbccdd");
  EXPECT_EQ(o.sha256, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  EXPECT_EQ(o.probe.match, "mx.example");
  EXPECT_EQ(o.probe.cert_file, "c.pem");
  EXPECT_EQ(o.probe.key_file, "k.pem");
  EXPECT_EQ(o.probe.helo, "gw.example.ch");
  EXPECT_EQ(o.probe.timeout, std::chrono::seconds(5));
}

struct Target {
  std::string text;
  std::string host;
  unsigned port;
};

class CheckTarget : public ::testing::TestWithParam<Target> {};

TEST_P(CheckTarget, Parses) {
  CheckOptions o = parse_check_options({GetParam().text});
  EXPECT_EQ(o.probe.host, GetParam().host);
  EXPECT_EQ(o.probe.port, GetParam().port);
}

INSTANTIATE_TEST_SUITE_P(Targets, CheckTarget,
                         ::testing::Values(Target{"mx.example", "mx.example", 25}, Target{"mx.example:587", "mx.example", 587},
                                           Target{"127.0.0.1:10025", "127.0.0.1", 10025},
                                           Target{"[::1]", "::1", 25}, Target{"[::1]:26", "::1", 26},
                                           Target{"2001:db8::1", "2001:db8::1", 25}));

struct Bad {
  std::vector<std::string> args;
  std::string message;
};

class CheckUsage : public ::testing::TestWithParam<Bad> {};

TEST_P(CheckUsage, Refuses) {
  try {
    parse_check_options(GetParam().args);
    FAIL() << "accepted";
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()), GetParam().message);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Args, CheckUsage,
    ::testing::Values(Bad{{}, "HOST is missing"}, Bad{{"a", "b"}, "more than one HOST given: 'a' and 'b'"},
                      Bad{{"mx:0"}, "the port must be a number from 1 to 65535"},
                      Bad{{"mx:65536"}, "the port must be a number from 1 to 65535"},
                      Bad{{"mx:x"}, "the port must be a number from 1 to 65535"},
                      Bad{{"mx:"}, "the port must be a number from 1 to 65535"},
                      Bad{{"[::1"}, "missing ']' in [::1"}, Bad{{"[::1]x"}, "expected :PORT after ] in [::1]x"},
                      Bad{{":25"}, "no host in ':25'"}, Bad{{"mx", "--bogus", "1"}, "unknown option --bogus"},
                      Bad{{"mx", "--ca"}, "--ca needs a value"},
                      Bad{{"mx", "--sha1", "AA:BB"}, "--sha1: a fingerprint of 20 bytes (40 hex digits) is expected, not 4 digits"},
                      Bad{{"mx", "--sha256", kSha1}, "--sha256: a fingerprint of 32 bytes (64 hex digits) is expected, not 40 digits"},
                      Bad{{"mx", "--sha1", "xx"}, "--sha1: 'xx' is not a hexadecimal fingerprint"},
                      Bad{{"mx", "--cert", "c.pem"}, "--cert and --key go together"},
                      Bad{{"mx", "--org", ""}, "--org must not be empty"},
                      Bad{{"mx", "--helo", "a b"}, "--helo must be one word"},
                      Bad{{"mx", "--timeout", "0"}, "--timeout must be a number from 1 to 3600"}));

// --- the report on a finished probe ---

ProbeResult good_probe() {
  ProbeResult p;
  p.peer = "192.0.2.25:25";
  p.greeting = "220 mx.incamail.ch ESMTP";
  p.starttls_offered = true;
  p.tls_version = "TLSv1.3";
  p.cipher = "TLS_AES_256_GCM_SHA384";
  p.chain.push_back({"CN=mx.incamail.ch,O=Post CH AG,C=CH", "CN=Test CA", "Jan  1 00:00:00 2025 GMT",
                     "Jan  1 00:00:00 2026 GMT", {"Post CH AG"}, kSha1, kSha256});
  p.chain.push_back({"CN=Test CA", "CN=Test Root", "a", "b", {}, "11", "22"});
  p.name_matches = true;
  p.client_cert_requested = true;
  p.ehlo_after_tls = "250 mx.incamail.ch";
  return p;
}

CheckOptions pinned() {
  CheckOptions o = parse_check_options({"mx.incamail.ch", "--ca", "ca.pem", "--sha1", kSha1, "--sha256", kSha256,
                                        "--cert", "c.pem", "--key", "k.pem"});
  return o;
}

TEST(CheckReport, AllGood) {
  std::ostringstream out;
  EXPECT_EQ(report(pinned(), good_probe(), out), kExitOk);
  EXPECT_EQ(out.str(),
            "checking mx.incamail.ch port 25\n"
            "OK   connect: 192.0.2.25:25\n"
            "OK   greeting: 220 mx.incamail.ch ESMTP\n"
            "OK   starttls: offered\n"
            "OK   tls: TLSv1.3, TLS_AES_256_GCM_SHA384\n"
            "chain as the server sent it (leaf first):\n"
            "  [0] subject: CN=mx.incamail.ch,O=Post CH AG,C=CH\n"
            "      issuer:  CN=Test CA\n"
            "      valid:   Jan  1 00:00:00 2025 GMT until Jan  1 00:00:00 2026 GMT\n"
            "      sha1:    " + kSha1 + "\n"
            "      sha256:  " + kSha256 + "\n"
            "  [1] subject: CN=Test CA\n"
            "      issuer:  CN=Test Root\n"
            "      valid:   a until b\n"
            "      sha1:    11\n"
            "      sha256:  22\n"
            "OK   organisation: O=Post CH AG\n"
            "OK   chain: verified against ca.pem\n"
            "OK   name: valid for mx.incamail.ch\n"
            "OK   sha1 pin: matches\n"
            "OK   sha256 pin: matches\n"
            "OK   client certificate: sent and accepted (EHLO over TLS: 250 mx.incamail.ch)\n"
            "RESULT: OK\n");
}

struct ReportCase {
  const char* name;
  std::function<void(CheckOptions&, ProbeResult&)> change;
  int code;
  std::vector<std::string> lines;  // each must appear as a whole line
};

class CheckReportCase : public ::testing::TestWithParam<ReportCase> {};

TEST_P(CheckReportCase, Judges) {
  CheckOptions o = pinned();
  ProbeResult p = good_probe();
  GetParam().change(o, p);
  std::ostringstream out;
  EXPECT_EQ(report(o, p, out), GetParam().code) << out.str();
  for (const auto& line : GetParam().lines) {
    EXPECT_NE(("\n" + out.str()).find("\n" + line + "\n"), std::string::npos) << line << "\n" << out.str();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Probes, CheckReportCase,
    ::testing::Values(
        ReportCase{"wrong_organisation", [](CheckOptions&, ProbeResult& p) { p.chain[0].organizations = {"Evil AG"}; },
                   kExitFailed,
                   {"FAIL organisation: expected O=Post CH AG, the certificate has O=Evil AG",
                    "RESULT: FAIL (1 check failed)"}},
        ReportCase{"no_organisation", [](CheckOptions&, ProbeResult& p) { p.chain[0].organizations.clear(); },
                   kExitFailed, {"FAIL organisation: expected O=Post CH AG, the certificate has no O="}},
        ReportCase{"other_organisation_wanted", [](CheckOptions& o, ProbeResult&) { o.organization = "Test AG"; },
                   kExitFailed, {"FAIL organisation: expected O=Test AG, the certificate has O=Post CH AG"}},
        ReportCase{"untrusted_chain",
                   [](CheckOptions&, ProbeResult& p) { p.chain_error = "unable to get local issuer certificate"; },
                   kExitFailed,
                   {"FAIL chain: not verified against ca.pem: unable to get local issuer certificate"}},
        ReportCase{"wrong_name", [](CheckOptions&, ProbeResult& p) { p.name_matches = false; }, kExitFailed,
                   {"FAIL name: not valid for mx.incamail.ch"}},
        ReportCase{"wrong_name_with_match",
                   [](CheckOptions& o, ProbeResult& p) {
                     o.probe.match = "other.example";
                     p.name_matches = false;
                   },
                   kExitFailed, {"FAIL name: not valid for other.example"}},
        ReportCase{"sha1_mismatch",
                   [](CheckOptions& o, ProbeResult&) { o.sha1 = std::string(40, '0'); }, kExitFailed,
                   {"FAIL sha1 pin: the certificate has " + kSha1, "OK   sha256 pin: matches"}},
        ReportCase{"sha256_mismatch",
                   [](CheckOptions& o, ProbeResult&) { o.sha256 = std::string(64, 'f'); }, kExitFailed,
                   {"OK   sha1 pin: matches", "FAIL sha256 pin: the certificate has " + kSha256}},
        ReportCase{"no_pins",
                   [](CheckOptions& o, ProbeResult&) {
                     o.sha1.clear();
                     o.sha256.clear();
                   },
                   kExitOk, {"SKIP sha1 pin: none given", "SKIP sha256 pin: none given", "RESULT: OK"}},
        ReportCase{"refused_connection",
                   [](CheckOptions&, ProbeResult& p) {
                     p = ProbeResult{};
                     p.failure = "cannot connect to mx.incamail.ch port 25: 192.0.2.25: Connection refused";
                   },
                   kExitFailed,
                   {"FAIL connect: cannot connect to mx.incamail.ch port 25: 192.0.2.25: Connection refused",
                    "RESULT: FAIL (1 check failed)"}},
        ReportCase{"no_starttls",
                   [](CheckOptions&, ProbeResult& p) {
                     p.starttls_offered = false;
                     p.tls_version.clear();
                     p.chain.clear();
                     p.failure = "the server does not offer STARTTLS";
                   },
                   kExitFailed,
                   {"FAIL starttls: the server does not offer STARTTLS", "RESULT: FAIL (1 check failed)"}},
        ReportCase{"handshake_failed_chain_still_judged",
                   [](CheckOptions&, ProbeResult& p) {
                     p.tls_version.clear();
                     p.ehlo_after_tls.clear();
                     p.failure = "TLS handshake failed: alert";
                   },
                   kExitFailed, {"FAIL tls: TLS handshake failed: alert", "OK   organisation: O=Post CH AG"}},
        ReportCase{"client_cert_not_requested",
                   [](CheckOptions&, ProbeResult& p) { p.client_cert_requested = false; }, kExitFailed,
                   {"FAIL client certificate: the server did not ask for one, so it was not sent"}},
        ReportCase{"client_cert_refused",
                   [](CheckOptions&, ProbeResult& p) {
                     p.ehlo_after_tls.clear();
                     p.failure = "after the handshake: reading a reply: alert unknown ca";
                   },
                   kExitFailed,
                   {"FAIL client certificate: sent but not accepted: after the handshake: reading a reply: alert "
                    "unknown ca"}},
        ReportCase{"no_client_cert_given_but_asked",
                   [](CheckOptions& o, ProbeResult& p) {
                     o.probe.cert_file.clear();
                     o.probe.key_file.clear();
                     p.ehlo_after_tls.clear();
                     p.failure = "after the handshake: alert certificate required";
                   },
                   kExitOk,
                   {"SKIP client certificate: the server asks for one; give --cert and --key to test mutual TLS",
                    "RESULT: OK"}},
        ReportCase{"no_client_cert_not_asked",
                   [](CheckOptions& o, ProbeResult& p) {
                     o.probe.cert_file.clear();
                     o.probe.key_file.clear();
                     p.client_cert_requested = false;
                   },
                   kExitOk, {"NOTE client certificate: the server did not ask for one", "RESULT: OK"}}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace postern::ctl
