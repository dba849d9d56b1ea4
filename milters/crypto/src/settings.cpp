#include "postern/crypto/settings.hpp"

#include <sys/stat.h>

#include <initializer_list>
#include <utility>
#include <vector>

#include "postern/core/net.hpp"
#include "postern/core/error.hpp"
#include "postern/ldap/settings.hpp"
#include "postern/milter/program.hpp"
#include "postern/plan/secret.hpp"

namespace postern::crypto {

namespace {

config::Schema build_schema() {
  using config::Type;
  config::Schema s("postern-crypto",
                   "Carries out the S/MIME part of postern-policy's signed plan: signs and encrypts outbound "
                   "mail, decrypts and verifies inbound mail.");
  milter::declare_common_keys(s, kDefaultSocket);

  s.section("plan", "Plans from postern-policy: this milter acts only on a verified X-Postern-Plan");
  s.key({.path = "plan.secret_file",
         .type = Type::path,
         .doc = "the secret postern-policy signs X-Postern-Plan with (mode 0600, readable only by the service user)",
         .required = true});
  s.key({.path = "plan.max_age",
         .type = Type::duration,
         .default_value = "10m",
         .doc = "a plan older than this is refused (the message is tempfailed)",
         .min = 1000,
         .max = 24 * 3600 * 1000});

  s.section("keystore", "The key store (docs/keys.md)");
  s.key({.path = "keystore.root",
         .type = Type::path,
         .default_value = "/var/lib/postern",
         .doc = "the key store's directory: certificates, our users' keys, trust anchors, CRLs"});

  // Recipients' certificates the store lacks are looked up here
  // (userCertificate;binary, userSMIMECertificate); without ldap.uris only
  // the store is asked. Answers are cached per ldap.cache.
  ldap::declare_keys(s);

  s.section("outbound", "Signing and encryption of outbound mail");
  s.key({.path = "outbound.sign_format",
         .type = Type::string,
         .default_value = "detached",
         .doc = "detached: multipart/signed, readable without S/MIME; opaque: application/pkcs7-mime signed-data",
         .choices = {"detached", "opaque"}});
  s.key({.path = "outbound.cipher",
         .type = Type::string,
         .default_value = "aes256-cbc",
         .doc = "content cipher: aes256-cbc (EnvelopedData, every client), aes256-gcm (AuthEnvelopedData; "
                "Outlook and Thunderbird cannot open it), or auto: aes256-gcm when every recipient of the envelope is "
                "known to support it (its SMIMECapabilities, recorded when its signed mail was harvested), else "
                "aes256-cbc",
         .choices = {"aes256-cbc", "aes256-gcm", "auto"}});
  s.key({.path = "outbound.rsa_padding",
         .type = Type::string,
         .default_value = "pkcs1v15",
         .doc = "key transport for RSA recipients: pkcs1v15 (every client) or oaep (SHA-256)",
         .choices = {"pkcs1v15", "oaep"}});
  s.key({.path = "outbound.header_protection",
         .type = Type::boolean,
         .default_value = "false",
         .doc = "RFC 9788 header protection: the protected entity carries the header fields, and an encrypted "
                "message's outer Subject becomes placeholder_subject"});
  s.key({.path = "outbound.placeholder_subject",
         .type = Type::string,
         .default_value = "'[...]'",
         .doc = "the outer Subject of encrypted mail with header protection (printable ASCII)"});

  s.section("inbound", "Decryption and verification of inbound mail");
  s.key({.path = "inbound.organisation_certificate",
         .type = Type::string,
         .default_value = "\"\"",
         .doc = "PEM certificate of an organisation-wide decryption key, tried after the recipients' own keys; "
                "\"\" for none"});
  s.key({.path = "inbound.organisation_key",
         .type = Type::string,
         .default_value = "\"\"",
         .doc = "its PEM private key (mode 0600); set together with organisation_certificate"});
  s.key({.path = "inbound.harvest",
         .type = Type::boolean,
         .default_value = "true",
         .doc = "store the certificate of a valid signer whose address is the From address, so replies can be "
                "encrypted"});
  s.key({.path = "inbound.authentication_results",
         .type = Type::boolean,
         .default_value = "true",
         .doc = "add an Authentication-Results field (RFC 7281 method smime) for each signed message opened, and "
                "remove incoming smime results that claim authserv_id"});
  s.key({.path = "inbound.authserv_id",
         .type = Type::string,
         .default_value = "\"\"",
         .doc = "authserv-id of that field, as postern-spf's spf.authserv_id (empty: this host's name)"});

  s.section("revocation", "Revocation checks of certificates (docs/revocation.md)");
  s.key({.path = "revocation.mode",
         .type = Type::string,
         .default_value = "soft_fail",
         .doc = "check the chain of a valid inbound signer and of each outbound recipient certificate before "
                "encrypting (OCSP, then CRLs from crls/ of the store or the distribution point): soft_fail treats "
                "an unreachable responder as not revoked, hard_fail as revoked (invalid signature; the plan's "
                "fallback for a recipient); off checks nothing beyond the store's CRLs. A policy rule's "
                "`revocation` action overrides it for its mail",
         .choices = {"off", "soft_fail", "hard_fail"}});
  s.key({.path = "revocation.timeout",
         .type = Type::duration,
         .default_value = "5s",
         .doc = "longest wait for one OCSP or CRL request (at most two requests per certificate)",
         .min = 100,
         .max = 60000});

  s.section("spool", "Where message bodies are kept while they are transformed");
  s.key({.path = "spool.memory_limit",
         .type = Type::size,
         .default_value = "1M",
         .doc = "a message larger than this is spooled to a private, already unlinked file",
         .min = 4096,
         .max = std::int64_t{1} << 30});
  s.key({.path = "spool.directory",
         .type = Type::string,
         .default_value = "\"\"",
         .doc = "directory for spooled bodies; \"\" means $TMPDIR or /tmp"});
  return s;
}

bool printable_ascii(std::string_view s) {
  for (unsigned char ch : s) {
    if (ch < 0x20 || ch > 0x7e) return false;
  }
  return true;
}

}  // namespace

const config::Schema& schema() {
  static const config::Schema s = build_schema();
  return s;
}

Settings Settings::from(const config::Config& c) {
  std::vector<core::Diagnostic> problems;
  Settings s;

  if (c.get_string("milter.on_internal_error") == "accept") {
    problems.push_back({c.where("milter.on_internal_error"),
                        "postern-crypto refuses on_internal_error: accept: a message that had to be signed or "
                        "encrypted would leave unprotected; use tempfail"});
  }

  s.plan_secret_file = c.get_string("plan.secret_file");
  s.plan_max_age = std::chrono::duration_cast<std::chrono::seconds>(c.get_duration("plan.max_age"));
  try {
    (void)plan::Secret::load(s.plan_secret_file);
  } catch (const core::ConfigError& e) {
    std::string why;
    for (const auto& d : e.diagnostics()) why += (why.empty() ? "" : "; ") + d.message;
    problems.push_back({c.where("plan.secret_file"), why});
  }

  s.keystore_root = c.get_string("keystore.root");
  try {
    s.ldap = ldap::settings_from(c);
  } catch (const core::ConfigError& e) {
    problems.insert(problems.end(), e.diagnostics().begin(), e.diagnostics().end());
  }

  s.sign.format = config::choose<smime::SignFormat>(
      c, "outbound.sign_format", {{"detached", smime::SignFormat::detached}, {"opaque", smime::SignFormat::opaque}});
  s.cipher_auto = c.get_string("outbound.cipher") == "auto";
  s.encrypt.cipher = config::choose<smime::ContentCipher>(c, "outbound.cipher",
                                                          {{"aes256-cbc", smime::ContentCipher::aes256_cbc},
                                                           {"aes256-gcm", smime::ContentCipher::aes256_gcm},
                                                           {"auto", smime::ContentCipher::aes256_cbc}});
  s.encrypt.rsa_padding = config::choose<smime::RsaPadding>(
      c, "outbound.rsa_padding", {{"pkcs1v15", smime::RsaPadding::pkcs1v15}, {"oaep", smime::RsaPadding::oaep}});
  smime::HeaderProtection hp;
  hp.enabled = c.get_bool("outbound.header_protection");
  hp.placeholder_subject = c.get_string("outbound.placeholder_subject");
  if (hp.placeholder_subject.empty() || !printable_ascii(hp.placeholder_subject)) {
    problems.push_back({c.where("outbound.placeholder_subject"),
                        "outbound.placeholder_subject must be printable ASCII and not empty"});
  }
  s.sign.header_protection = hp;
  s.encrypt.header_protection = hp;

  s.organisation_certificate = c.get_string("inbound.organisation_certificate");
  s.organisation_key = c.get_string("inbound.organisation_key");
  if (s.organisation_certificate.empty() != s.organisation_key.empty()) {
    problems.push_back({c.where(s.organisation_certificate.empty() ? "inbound.organisation_key"
                                                                   : "inbound.organisation_certificate"),
                        "inbound.organisation_certificate and inbound.organisation_key must be set together"});
  }
  if (!s.organisation_key.empty()) {
    struct stat st {};
    if (::stat(s.organisation_key.c_str(), &st) != 0) {
      problems.push_back({c.where("inbound.organisation_key"), s.organisation_key + ": cannot be read"});
    } else if ((st.st_mode & 077) != 0) {
      problems.push_back({c.where("inbound.organisation_key"),
                          s.organisation_key + ": group or others may read it; chmod 600 " + s.organisation_key});
    }
  }
  s.harvest = c.get_bool("inbound.harvest");
  s.authentication_results = c.get_bool("inbound.authentication_results");
  s.authserv_id = c.get_string("inbound.authserv_id");
  if (s.authserv_id.empty()) s.authserv_id = core::host_name();
  if (s.authserv_id.empty() || !printable_ascii(s.authserv_id) ||
      s.authserv_id.find_first_of(" ;()\"\\") != std::string::npos) {
    problems.push_back({c.where("inbound.authserv_id"),
                        "inbound.authserv_id must be a token (printable ASCII without spaces, ';' or parentheses)"});
  }
  s.revocation = config::choose<std::optional<revocation::Mode>>(c, "revocation.mode",
                                                                 {{"off", std::nullopt},
                                                                  {"soft_fail", revocation::Mode::soft_fail},
                                                                  {"hard_fail", revocation::Mode::hard_fail}});
  s.revocation_timeout = c.get_duration("revocation.timeout");

  s.spool_memory_limit = static_cast<std::size_t>(c.get_size("spool.memory_limit"));
  s.spool_directory = c.get_string("spool.directory");

  if (!problems.empty()) {
    throw core::ConfigError(std::move(problems));
  }
  return s;
}

}  // namespace postern::crypto
