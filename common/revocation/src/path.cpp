#include <openssl/err.h>

#include "postern/ossl/certificate.hpp"
#include "postern/ossl/error.hpp"
#include "postern/revocation/checker.hpp"

namespace postern::revocation {

ChainResult Checker::check_path(X509* cert, X509_STORE* trust, const std::vector<X509*>& untrusted) const {
  ossl::X509Stack helpers = ossl::make_x509_stack();
  for (X509* u : untrusted) {
    ossl::X509Ptr shared = ossl::share(u);
    if (sk_X509_push(helpers.get(), shared.get()) <= 0) throw ossl::Error("sk_X509_push");
    shared.release();
  }
  ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx) throw ossl::Error("X509_STORE_CTX_new");
  if (X509_STORE_CTX_init(ctx.get(), trust, cert, helpers.get()) != 1) throw ossl::Error("X509_STORE_CTX_init");
  if (settings_.clock) X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), settings_.clock());
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    ChainResult out;
    out.accepted = false;
    Result r;
    r.status = Status::unknown;
    r.why = std::string("no chain to a trust anchor: ") + X509_verify_cert_error_string(err);
    r.subject = ossl::subject_text(cert);
    r.serial = ossl::serial_text(cert);
    out.results.push_back(std::move(r));
    return out;
  }
  ossl::X509Stack chain(X509_STORE_CTX_get1_chain(ctx.get()));
  return check_chain(chain.get());
}

}  // namespace postern::revocation
