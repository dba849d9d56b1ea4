#include <openssl/err.h>
#include <unistd.h>

#include <algorithm>

#include "files.hpp"
#include "postern/core/strings.hpp"
#include "postern/keystore/key_store.hpp"
#include "postern/ossl/certificate.hpp"
#include "postern/ossl/error.hpp"
#include "postern/ossl/pem_der.hpp"

namespace postern::keystore {
namespace {

namespace fs = std::filesystem;

struct Parsed {
  std::vector<ossl::X509Ptr> certificates;
  std::vector<ossl::X509CrlPtr> crls;
  ossl::PkeyPtr key;
  ossl::X509Ptr key_certificate;  // PKCS#12: the key's own certificate
};

Parsed parse(std::string_view bytes, const ImportOptions& options) {
  Parsed p;
  const std::string password = options.password.value_or("");
  if (ossl::looks_like_pem(bytes)) {
    try {
      p.certificates = ossl::read_certificates(bytes);
    } catch (const ossl::Error&) {
      ERR_clear_error();
      if (bytes.find("CERTIFICATE-----") != std::string_view::npos) throw ImportError("a malformed PEM certificate");
    }
    try {
      p.crls = ossl::read_crls(bytes);
    } catch (const ossl::Error&) {
      ERR_clear_error();
      throw ImportError("a malformed PEM CRL");
    }
    if (ossl::has_private_key_block(bytes)) {
      try {
        p.key = ossl::read_private_key(bytes, password);
      } catch (const ossl::Error&) {
        ERR_clear_error();
        throw ImportError(options.password ? "the private key cannot be read: wrong password or a damaged key"
                                           : "the private key cannot be read: it may be encrypted (--password-file)");
      }
    }
    if (p.certificates.empty() && p.crls.empty()) throw ImportError("no certificate or CRL in the PEM file");
    return p;
  }
  try {
    p.certificates = ossl::read_certificates(bytes);  // one DER certificate
    return p;
  } catch (const ossl::Error&) {
    ERR_clear_error();
  }
  p.crls = ossl::read_crls(bytes);
  if (!p.crls.empty()) return p;
  if (ossl::looks_like_pkcs12(bytes)) {
    if (!ossl::pkcs12_password_fits(bytes, password)) {
      throw ImportError(options.password ? "wrong password for the PKCS#12 file"
                                         : "the PKCS#12 file needs its password (--password-file)");
    }
    try {
      auto contents = ossl::read_pkcs12(bytes, password);
      p.key = std::move(contents.key);
      p.key_certificate = std::move(contents.cert);
      p.certificates = std::move(contents.chain);
    } catch (const ossl::Error& e) {
      ERR_clear_error();
      throw ImportError(std::string("the PKCS#12 file cannot be read: ") + e.what());
    }
    if (!p.key_certificate && p.certificates.empty()) throw ImportError("the PKCS#12 file holds no certificate");
    return p;
  }
  throw ImportError("not a certificate, CRL, or PKCS#12 file (PEM or DER expected)");
}

std::string now_text() { return ossl::utc_text(std::time(nullptr)); }

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

void remove_file(const fs::path& p) {
  std::error_code ec;
  fs::remove(p, ec);
  if (ec) throw KeyStoreError("cannot remove " + p.string() + ": " + ec.message());
}

bool is_hex_prefix(std::string_view s) {
  return s.size() >= 8 && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

void KeyStore::create_layout() const {
  const auto owner = files::owner_for(root_);
  files::ensure_dir(root_, 0755, owner);
  for (const char* d : {"certs", "anchors", "intermediates", "crls"}) files::ensure_dir(root_ / d, 0755, owner);
  files::ensure_dir(root_ / "private", 0700, owner);
  files::ensure_dir(root_ / "gnupg", 0700, owner);
  if (auto why = files::insecure_mode(root_ / "private", true); !why.empty()) throw KeyStoreError(why);
}

std::vector<Imported> KeyStore::import_bytes(std::string_view bytes, const ImportOptions& options) {
  Parsed p = parse(bytes, options);
  if (!p.key && p.key_certificate) p.certificates.insert(p.certificates.begin(), std::move(p.key_certificate));
  if (options.anchor) {  // all or nothing: check before anything is written
    for (const auto& c : p.certificates) {
      if (!ossl::is_ca(c.get()) || !ossl::is_self_signed(c.get())) {
        throw ImportError("--anchor: " + ossl::subject_text(c.get()) + " is not a self-signed CA certificate");
      }
    }
  }
  create_layout();
  const auto owner = files::owner_for(root_);
  const std::string source = options.source.empty() ? "import" : options.source;
  const Provenance provenance{"import", source, now_text(), {}};
  std::vector<Imported> out;

  // The key's certificate: the PKCS#12 one, or the PEM one the key fits.
  X509* key_cert = p.key_certificate.get();
  if (p.key && key_cert == nullptr) {
    for (const auto& c : p.certificates) {
      if (ossl::key_matches(c.get(), p.key.get())) key_cert = c.get();
    }
  }
  if (p.key && key_cert == nullptr) throw ImportError("the private key fits none of the certificates in the file");
  if (p.key && !ossl::key_matches(key_cert, p.key.get()))
    throw ImportError("the private key does not fit its certificate");
  if (options.anchor && p.key) throw ImportError("--anchor is for CA certificates, not for a private key");

  if (p.key) {
    const std::string fp = ossl::sha256_fingerprint(key_cert);
    const fs::path dir = root_ / "private";
    Imported r{Shelf::private_keys, false, present(dir / (fp + ".key")), false, {}, fp, ossl::subject_text(key_cert)};
    std::string pem = ossl::to_pem(key_cert);
    for (const auto& c : p.certificates) {
      if (c.get() != key_cert && ossl::is_ca(c.get()) && !ossl::is_self_signed(c.get())) pem += ossl::to_pem(c.get());
    }
    files::atomic_write(dir / (fp + ".key"), ossl::private_key_to_pem(p.key.get()), 0600, owner);
    files::atomic_write(dir / (fp + ".pem"), pem, 0644, owner);
    if (!r.already_present)
      files::atomic_write(dir / (fp + ".meta"), files::format_provenance(provenance), 0644, owner);
    out.push_back(std::move(r));
  }
  for (const auto& c : p.certificates) {
    X509* cert = c.get();
    if (cert == key_cert) continue;
    const std::string fp = ossl::sha256_fingerprint(cert);
    Imported r{Shelf::certs, false, false, false, {}, fp, ossl::subject_text(cert)};
    const bool ca = ossl::is_ca(cert);
    const bool self_signed = ossl::is_self_signed(cert);
    if (options.anchor) {
      if (!ca || !self_signed) throw ImportError("--anchor: " + r.subject + " is not a self-signed CA certificate");
      r.shelf = Shelf::anchors;
    } else if (ca && self_signed) {
      r.skipped = true;
      r.note = "a root CA certificate: import it with --anchor to trust it";
      out.push_back(std::move(r));
      continue;
    } else if (ca) {
      r.shelf = Shelf::intermediates;
    } else if (present(root_ / "private" / (fp + ".pem"))) {
      r.shelf = Shelf::private_keys;
      r.already_present = true;
      out.push_back(std::move(r));
      continue;
    }
    const fs::path dir = root_ / to_string(r.shelf);
    r.already_present = present(dir / (fp + ".pem"));
    if (!r.already_present) {
      if (r.shelf == Shelf::certs) {
        files::atomic_write(dir / (fp + ".meta"), files::format_provenance(provenance), 0644, owner);
      }
      files::atomic_write(dir / (fp + ".pem"), ossl::to_pem(cert), 0644, owner);
    }
    out.push_back(std::move(r));
  }
  for (const auto& crl : p.crls) {
    const std::string fp = ossl::sha256_fingerprint(crl.get());
    const fs::path file = root_ / "crls" / (fp + ".pem");
    Imported r{Shelf::certs, true, present(file), false, {}, fp, {}};
    {
      ossl::BioPtr bio(BIO_new(BIO_s_mem()));
      if (bio && X509_NAME_print_ex(bio.get(), X509_CRL_get_issuer(crl.get()), 0, XN_FLAG_RFC2253) >= 0) {
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio.get(), &data);
        if (n > 0) r.subject.assign(data, static_cast<std::size_t>(n));
      }
      ERR_clear_error();
    }
    if (!r.already_present) files::atomic_write(file, ossl::to_pem(crl.get()), 0644, owner);
    out.push_back(std::move(r));
  }
  return out;
}

bool KeyStore::harvest(X509* certificate, std::string_view source, const std::vector<std::string>& capabilities) {
  if (certificate == nullptr) throw ImportError("harvest: no certificate");
  if (ossl::is_ca(certificate)) throw ImportError("harvest: a CA certificate is not harvested");
  if (ossl::certificate_emails(certificate).empty())
    throw ImportError("harvest: the certificate has no e-mail address");
  create_layout();
  const auto owner = files::owner_for(root_);
  const std::string fp = ossl::sha256_fingerprint(certificate);
  const fs::path dir = root_ / "certs";
  if (present(dir / (fp + ".pem"))) {
    // Known: only what the owner's client announces now is updated.
    const fs::path meta = dir / (fp + ".meta");
    std::optional<Provenance> old = present(meta) ? files::parse_provenance(files::read_file(meta)) : std::nullopt;
    if (!capabilities.empty() && (!old || old->capabilities != capabilities)) {
      Provenance updated = old.value_or(Provenance{"harvest", std::string(source), now_text(), {}});
      updated.capabilities = capabilities;
      files::atomic_write(meta, files::format_provenance(updated), 0644, owner);
    }
    return false;
  }
  if (present(root_ / "private" / (fp + ".pem"))) return false;
  // The sidecar first: a scan that sees the certificate sees where it came from.
  const Provenance provenance{"harvest", std::string(source), now_text(), capabilities};
  files::atomic_write(dir / (fp + ".meta"), files::format_provenance(provenance), 0644, owner);
  files::atomic_write(dir / (fp + ".pem"), ossl::to_pem(certificate), 0644, owner);
  return true;
}

std::vector<Entry> KeyStore::remove(std::string_view what) {
  const bool by_address = what.find('@') != std::string_view::npos;
  if (!by_address && !is_hex_prefix(what)) {
    throw ImportError("give a fingerprint (at least 8 hex digits) or an e-mail address");
  }
  const std::string prefix = core::ascii_lower(what);
  std::vector<Entry> matched;
  for (auto& e : list()) {
    const bool hit = by_address ? (e.shelf == Shelf::certs || e.shelf == Shelf::private_keys) &&
                                      std::any_of(e.emails.begin(), e.emails.end(),
                                                  [&](const std::string& a) { return ossl::same_address(a, what); })
                                : e.fingerprint.rfind(prefix, 0) == 0;
    if (hit) matched.push_back(std::move(e));
  }
  if (!by_address && matched.size() > 1) {
    // A short prefix naming several certificates is refused, not guessed.
    bool same = std::all_of(matched.begin(), matched.end(),
                            [&](const Entry& e) { return e.fingerprint == matched.front().fingerprint; });
    if (!same) throw ImportError("the fingerprint prefix " + prefix + " names several certificates; give more digits");
  }
  for (const auto& e : matched) {
    for (const char* ext : {".key", ".meta", ".pem"}) {
      fs::path p = e.file;
      p.replace_extension(ext);
      if (present(p)) remove_file(p);
    }
  }
  return matched;
}

}  // namespace postern::keystore
