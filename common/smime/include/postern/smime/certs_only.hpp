// NAME
//   certs_only - hand certificates to a correspondent: a certs-only CMS
//   attachment (smime.p7c) added to a message
// SUMMARY
//   std::string der = smime::certs_only_der({cert, intermediate, root});
//   std::string part = smime::certs_only_part({cert, intermediate, root});
//   std::string out = smime::attach_part(message, part);
// DESCRIPTION
//   certs_only_der: a degenerate CMS SignedData (RFC 8551 §3.6): no
//   content, no signer, only the certificates, as DER (a SET OF: DER
//   sorts them, whatever the order given).
//   What `openssl pkcs7 -print_certs`, Outlook and Thunderbird import as
//   "certificates only".
//
//   certs_only_part: that DER as a MIME entity: application/pkcs7-mime;
//   smime-type=certs-only; name="smime.p7c", base64 with CRLF, and
//   Content-Disposition: attachment; filename="smime.p7c".
//
//   attach_part: the whole RFC 5322 message with its MIME entity and `part`
//   as the two parts of a new multipart/mixed. The outer header fields
//   (everything but Content-*) stay as they are, MIME-Version is added when
//   missing; the original Content-* fields go with the original body into
//   the first part, both byte for byte (a missing Content-Type stays
//   missing: text/plain is a part's default too). The boundary is random
//   and checked not to occur in the body or the part. Signing or
//   encryption may follow (smime.hpp).
// THREADS
//   Reentrant.
// DIAGNOSTICS
//   smime::Error: bad_input (no certificate, a message without a header
//   block), too_large (over the header limits), internal (OpenSSL).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "postern/ossl/handles.hpp"

namespace postern::smime {

std::string certs_only_der(const std::vector<X509*>& certificates);
std::string certs_only_part(const std::vector<X509*>& certificates);
std::string attach_part(std::string_view message, std::string_view part);

}  // namespace postern::smime
