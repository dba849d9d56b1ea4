#include "smime_test_pki.hpp"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "postern/ossl/pem_der.hpp"

namespace postern::smime::testing {
namespace {

void must(const std::string& command) {
  if (run(command) != 0) throw std::runtime_error("test PKI: failed: " + command);
}

std::string extensions(const std::string& usage) {
  return "basicConstraints=critical,CA:FALSE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n" + usage;
}

}  // namespace

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path);
}

TestPki::TestPki() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "postern-smime-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  const std::string d = dir_;
  const std::string q = " >/dev/null 2>&1";
  write_file(d + "/ca.ext",
             "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
             "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
  write_file(d + "/rsa.ext", extensions("keyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment\n"
                                        "extendedKeyUsage=emailProtection\n"));
  write_file(d + "/ec.ext", extensions("keyUsage=critical,digitalSignature,keyAgreement\n"
                                       "extendedKeyUsage=emailProtection\n"));
  write_file(d + "/server.ext", extensions("keyUsage=critical,digitalSignature,keyEncipherment\n"
                                           "extendedKeyUsage=serverAuth\n"));
  must("cd " + d + " && openssl req -x509 -newkey rsa:3072 -nodes -keyout root.key -out root.pem -days 3650"
       " -subj '/O=Postern Test/CN=Postern Test Root CA' -addext basicConstraints=critical,CA:TRUE"
       " -addext keyUsage=critical,keyCertSign,cRLSign" + q);
  must("cd " + d + " && openssl req -new -newkey rsa:3072 -nodes -keyout inter.key -out inter.csr"
       " -subj '/O=Postern Test/CN=Postern Test Intermediate CA'" + q +
       " && openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 3000"
       " -extfile ca.ext -out chain.pem" + q);
  struct User {
    const char* name;
    const char* keyspec;
    const char* ext;
  };
  for (const User& u : {User{"alice", "rsa:3072", "rsa.ext"}, User{"bob", "ec -pkeyopt ec_paramgen_curve:P-256", "ec.ext"},
                        User{"carol", "rsa:2048", "rsa.ext"}, User{"mallory", "rsa:2048", "server.ext"}}) {
    const std::string n = u.name;
    write_file(d + "/" + n + ".san", std::string("subjectAltName=email:") + n + "@example.org\n");
    must("cd " + d + " && cat " + u.ext + " " + n + ".san > " + n + ".extall && openssl req -new -newkey " +
         u.keyspec + " -nodes -keyout " + n + ".key -out " + n + ".csr -subj '/O=Postern Test/CN=" + n +
         "/emailAddress=" + n + "@example.org'" + q + " && openssl x509 -req -in " + n +
         ".csr -CA chain.pem -CAkey inter.key -CAcreateserial -days 365 -extfile " + n + ".extall -out " + n +
         ".crt" + q + " && cat " + n + ".crt chain.pem root.pem > " + n +
         "-full.pem && openssl pkcs12 -export -inkey " + n + ".key -in " + n + ".crt -certfile chain.pem -name " +
         n + " -passout pass:test -out " + n + ".p12" + q + " && chmod 600 " + n + ".key " + n + ".p12");
  }
  store_.reset(X509_STORE_new());
  if (!store_ || X509_STORE_add_cert(store_.get(), certificate("root.pem").get()) != 1) {
    throw std::runtime_error("X509_STORE");
  }
}

TestPki::~TestPki() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

ossl::X509Ptr TestPki::certificate(const std::string& file) const {
  return std::move(ossl::read_certificates(read_file(path(file))).front());
}

Credential TestPki::credential(const std::string& user) const {
  Credential c;
  c.cert = certificate(user + ".crt");
  c.key = ossl::read_private_key(read_file(path(user + ".key")));
  c.chain.push_back(certificate("chain.pem"));
  return c;
}

}  // namespace postern::smime::testing
