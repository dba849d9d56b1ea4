#include "postern/ctl/keys_commands.hpp"

#include <fstream>
#include <sstream>

#include "postern/core/strings.hpp"
#include "postern/keystore/key_store.hpp"
#include "postern/ossl/certificate.hpp"

namespace postern::ctl {
namespace {

using keystore::KeyStore;

std::string printable(std::string_view s) { return core::escape_controls(s); }

struct Args {
  std::string store = keystore::kDefaultRoot;
  std::string password_file;
  bool anchor = false;
  std::vector<std::string> operands;
};

// --store everywhere; --password-file and --anchor where `import` is true.
Args parse(const std::vector<std::string>& args, bool import, std::size_t operands) {
  Args a;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg.rfind("-", 0) != 0 || arg == "-") {
      a.operands.push_back(arg);
      continue;
    }
    if (import && arg == "--anchor") {
      a.anchor = true;
      continue;
    }
    if (arg == "--password" || arg.rfind("--password=", 0) == 0) {
      throw UsageError("passwords are read from a file only: --password-file FILE");
    }
    const std::string value = take_option_value(args, i, arg);
    if (arg == "--store") {
      a.store = value;
    } else if (import && arg == "--password-file") {
      a.password_file = value;
    } else {
      throw UsageError("unknown option " + arg);
    }
  }
  if (a.operands.size() != operands) {
    throw UsageError(a.operands.size() < operands ? "an argument is missing" : "too many arguments");
  }
  return a;
}

bool read_all(const std::string& path, std::string& bytes) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  if (!in || !(s << in.rdbuf())) return false;
  bytes = s.str();
  return true;
}

std::string when(std::time_t t) { return ossl::utc_text(t).substr(0, 10); }

std::string emails(const keystore::Entry& e) {
  std::string out;
  for (const auto& a : e.emails) out += (out.empty() ? "" : ",") + printable(a);
  return out.empty() ? "-" : out;
}

int keys_import(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const Args a = parse(args, true, 1);
  keystore::ImportOptions options;
  options.anchor = a.anchor;
  options.source = a.operands[0];
  if (!a.password_file.empty()) {
    std::string text;
    if (!read_all(a.password_file, text)) {
      err << "posternctl keys import: cannot read the password file " << printable(a.password_file) << "\n";
      return kExitError;
    }
    const auto nl = text.find('\n');
    if (nl != std::string::npos) text.resize(nl);
    if (!text.empty() && text.back() == '\r') text.pop_back();
    options.password = std::move(text);
  }
  std::string bytes;
  if (!read_all(a.operands[0], bytes)) {
    err << "posternctl keys import: cannot read " << printable(a.operands[0]) << "\n";
    return kExitError;
  }
  try {
    KeyStore store(a.store);
    for (const auto& r : store.import_bytes(bytes, options)) {
      if (r.skipped) {
        out << "skipped  " << r.fingerprint << "  " << printable(r.subject) << ": " << r.note << "\n";
        continue;
      }
      const std::string where = r.crl ? "crls" : keystore::to_string(r.shelf);
      out << (r.already_present ? "present  " : "added    ") << where << "/" << r.fingerprint << "  "
          << printable(r.subject) << "\n";
    }
  } catch (const std::exception& e) {
    err << "posternctl keys import: " << printable(a.operands[0]) << ": " << e.what() << "\n";
    return kExitError;
  }
  return kExitOk;
}

int keys_list(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const Args a = parse(args, false, 0);
  try {
    KeyStore store(a.store);
    for (const auto& e : store.list()) {
      out << keystore::to_string(e.shelf) << "  " << e.fingerprint << "  " << when(e.not_before) << ".."
          << when(e.not_after) << "  " << emails(e) << "  " << printable(e.subject);
      if (e.provenance) out << "  [" << printable(e.provenance->how) << " " << printable(e.provenance->added) << "]";
      out << "\n";
    }
    for (const auto& p : store.problems()) err << "posternctl keys list: " << printable(p) << "\n";
  } catch (const std::exception& e) {
    err << "posternctl keys list: " << e.what() << "\n";
    return kExitError;
  }
  return kExitOk;
}

template <typename T>
void show_selection(const char* purpose, const keystore::Selection<T>& s, std::ostream& out) {
  out << purpose << ": ";
  if (s.best) {
    out << s.best->fingerprint << "  " << printable(ossl::subject_text(s.best->certificate.get())) << "  until "
        << when(ossl::not_after(s.best->certificate.get())) << "\n";
  } else {
    out << "none\n";
  }
  for (const auto& r : s.rejected) {
    out << "  not usable " << r.fingerprint << "  " << printable(r.subject) << ": " << r.reason << "\n";
  }
}

int keys_show(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const Args a = parse(args, false, 1);
  const std::string& address = a.operands[0];
  try {
    KeyStore store(a.store);
    const auto enc = store.select_encryption_certificate(address);
    out << "address: " << printable(address) << "\n";
    show_selection("encryption", enc, out);
    bool usable = enc.best.has_value();
    try {
      const auto sig = store.select_signing_identity(address);
      show_selection("signing", sig, out);
      usable = usable || sig.best.has_value();
    } catch (const keystore::KeyStoreError& e) {
      out << "signing: unknown: " << e.what() << "\n";
    }
    return usable ? kExitOk : kExitFailed;
  } catch (const std::exception& e) {
    err << "posternctl keys show: " << e.what() << "\n";
    return kExitError;
  }
}

int keys_export(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const Args a = parse(args, false, 1);
  try {
    KeyStore store(a.store);
    if (auto pem = store.export_certificate(a.operands[0])) {
      out << *pem;
      return kExitOk;
    }
    err << "posternctl keys export: no usable certificate for " << printable(a.operands[0])
        << " ('posternctl keys show' says why)\n";
    return kExitFailed;
  } catch (const std::exception& e) {
    err << "posternctl keys export: " << e.what() << "\n";
    return kExitError;
  }
}

int keys_remove(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const Args a = parse(args, false, 1);
  try {
    KeyStore store(a.store);
    const auto removed = store.remove(a.operands[0]);
    for (const auto& e : removed) {
      out << "removed  " << keystore::to_string(e.shelf) << "/" << e.fingerprint << "  " << printable(e.subject)
          << "\n";
    }
    if (removed.empty()) {
      err << "posternctl keys remove: nothing matches " << printable(a.operands[0]) << "\n";
      return kExitFailed;
    }
    return kExitOk;
  } catch (const keystore::ImportError& e) {
    throw UsageError(e.what());
  } catch (const std::exception& e) {
    err << "posternctl keys remove: " << e.what() << "\n";
    return kExitError;
  }
}

constexpr char kStoreHelp[] = "  --store DIR          the key store (default /var/lib/postern)\n";

}  // namespace

void add_keys_commands(Dispatcher& d) {
  d.add({.area = "keys",
         .name = "import",
         .synopsis = "[--store DIR] [--password-file FILE] [--anchor] FILE",
         .summary = "import certificates, a private key with its certificate, or CRLs (PEM, DER, PKCS#12)",
         .help = std::string(kStoreHelp) +
                 "  --password-file FILE the password of a PKCS#12 file or an encrypted key: the first line of FILE\n"
                 "  --anchor             the file's self-signed CA certificates become trust anchors\n",
         .run = keys_import});
  d.add({.area = "keys",
         .name = "list",
         .synopsis = "[--store DIR]",
         .summary = "every stored certificate: shelf, fingerprint, validity, addresses, subject",
         .help = kStoreHelp,
         .run = keys_list});
  d.add({.area = "keys",
         .name = "show",
         .synopsis = "[--store DIR] ADDRESS",
         .summary = "the certificates selected for ADDRESS, and why each other candidate is not usable",
         .help = std::string(kStoreHelp) + "  exit 1 when nothing is usable for encryption nor for signing\n",
         .run = keys_show});
  d.add({.area = "keys",
         .name = "export",
         .synopsis = "[--store DIR] ADDRESS",
         .summary = "print the certificate selected for ADDRESS as PEM (never a private key)",
         .help = std::string(kStoreHelp) + "  exit 1 when no certificate is usable\n",
         .run = keys_export});
  d.add({.area = "keys",
         .name = "remove",
         .synopsis = "[--store DIR] FINGERPRINT|ADDRESS",
         .summary = "remove certificates (and their private keys) by fingerprint prefix or address",
         .help = std::string(kStoreHelp) +
                 "  FINGERPRINT          at least 8 hex digits of the SHA-256 fingerprint\n"
                 "  ADDRESS              every certificate in certs/ and private/ carrying it\n",
         .run = keys_remove});
}

}  // namespace postern::ctl
