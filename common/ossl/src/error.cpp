#include "postern/ossl/error.hpp"

#include <openssl/err.h>

#include <new>

#include "postern/ossl/handles.hpp"

namespace postern::ossl {

std::string drain_errors() {
  std::string out;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    const char* reason = ERR_reason_error_string(code);
    const char* lib = ERR_lib_error_string(code);
    if (!out.empty()) out += "; ";
    if (lib != nullptr) {
      out += lib;
      out += ": ";
    }
    out += reason != nullptr ? reason : "error " + std::to_string(ERR_GET_REASON(code));
  }
  return out;
}

X509Stack make_x509_stack() {
  X509Stack s(sk_X509_new_null());
  if (!s) throw std::bad_alloc();
  return s;
}

X509Ptr share(X509* cert) {
  if (cert != nullptr && X509_up_ref(cert) != 1) throw Error("X509_up_ref");
  return X509Ptr(cert);
}

}  // namespace postern::ossl
