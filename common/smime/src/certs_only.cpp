// Certificates-only attachments: certs_only.hpp.
#include "postern/smime/certs_only.hpp"

#include "entity.hpp"
#include "postern/ossl/error.hpp"
#include "postern/ossl/memory_bio.hpp"
#include "postern/smime/canonical.hpp"
#include "postern/smime/status.hpp"

namespace postern::smime {

std::string certs_only_der(const std::vector<X509*>& certificates) {
  if (certificates.empty()) throw Error(Failure::bad_input, "no certificate to send");
  ossl::X509Stack stack = ossl::make_x509_stack();
  for (X509* cert : certificates) {
    if (cert == nullptr) throw Error(Failure::bad_input, "a null certificate");
    // The stack owns what it holds: a reference of its own.
    ossl::X509Ptr ref = ossl::share(cert);
    if (sk_X509_push(stack.get(), ref.get()) <= 0) throw Error(Failure::internal, ossl::Error("sk_X509_push").what());
    static_cast<void>(ref.release());
  }
  // Without signer and key CMS_sign makes the certificates-only structure;
  // detached and partial: no eContent and nothing to finalise.
  ossl::CmsPtr cms(CMS_sign(nullptr, nullptr, stack.get(), nullptr, CMS_BINARY | CMS_DETACHED | CMS_PARTIAL));
  if (!cms) throw Error(Failure::internal, ossl::Error("CMS_sign (certificates only)").what());
  std::string der;
  ossl::BioPtr sink = ossl::string_sink(der, ossl::LineBreaks::keep);
  if (i2d_CMS_bio(sink.get(), cms.get()) != 1 || BIO_flush(sink.get()) != 1) {
    throw Error(Failure::internal, ossl::Error("writing the certificates-only CMS").what());
  }
  return der;
}

std::string certs_only_part(const std::vector<X509*>& certificates) {
  const std::string der = certs_only_der(certificates);
  std::string out =
      "Content-Type: application/pkcs7-mime; smime-type=certs-only; name=\"smime.p7c\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7c\"\r\n\r\n";
  out.reserve(out.size() + detail::base64_size(der.size()));
  ossl::BioPtr b64 = ossl::base64_filter(ossl::string_sink(out, ossl::LineBreaks::crlf));
  if (BIO_write(b64.get(), der.data(), static_cast<int>(der.size())) != static_cast<int>(der.size()) ||
      BIO_flush(b64.get()) != 1) {
    throw Error(Failure::internal, ossl::Error("base64 of the certificates").what());
  }
  return out;
}

std::string attach_part(std::string_view message, std::string_view part) {
  detail::Split split = detail::split_message(message);
  std::string boundary = detail::random_boundary();
  while (split.body.find(boundary) != std::string_view::npos || part.find(boundary) != std::string_view::npos) {
    boundary = detail::random_boundary();
  }
  std::string out = detail::outer_fields(split.outer);
  out.reserve(out.size() + split.body.size() + part.size() + 512);
  out += "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\r\n\r\n";
  out += "This is a multi-part message in MIME format.\r\n\r\n--" + boundary + "\r\n";
  detail::append_fields(out, split.content);
  out += "\r\n";
  out += split.body;
  // The CRLF before a delimiter belongs to the delimiter (RFC 2046 §5.1.1):
  // one more, so that the body keeps its own last line break.
  out += "\r\n--";
  out += boundary + "\r\n";
  out += to_crlf(part);
  if (!part.empty() && part.back() != '\n') out += "\r\n";
  out += "--" + boundary + "--\r\n";
  return out;
}

}  // namespace postern::smime
