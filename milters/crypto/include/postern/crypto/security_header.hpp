// NAME
//   security_header - the X-Postern-Security value: what opening found
// SUMMARY
//   actions.add_header(kSecurityHeader, security_value(opened.status));
// DESCRIPTION
//   One line, items separated by "; ", always in this order:
//     encryption=none|decrypted|decrypted-authenticated|not-decrypted
//     signature=none|valid|bad-signature|untrusted|expired|revoked|wrong-usage|not-checked
//     signer=ADDRESS            when signed: the signer certificate's first
//                               e-mail address, or "unknown"
//     from-match=yes|no         when signed: a signer address is the From address
//     error=NAME                when opening stopped: no-key, decrypt-failed,
//                               malformed, too-large, unsupported, internal
//     reason="TEXT"             with error=, or when a signature is not valid
//   encryption=not-decrypted means the message is still encrypted (no key
//   here, or it could not be decrypted); its signature, if any, is then
//   not-checked. With several signatures, signature= names the first one
//   that is not valid (else valid) and signer= that signature's signer.
//   TEXT is printable ASCII without quotes or backslashes, at most 200
//   characters: smime's detail or OpenSSL's reason, never message content. The value starts with a space, as
//   libmilter passes header values.
// THREADS
//   Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "postern/smime/status.hpp"

namespace postern::crypto {

std::string security_value(const smime::SecurityStatus& status);

// printable ASCII, '"' and '\' dropped, at most `limit` characters.
std::string safe_text(std::string_view text, std::size_t limit = 200);

// "bad-signature" for Verdict::bad_signature, ...
std::string verdict_word(smime::Verdict verdict);

}  // namespace postern::crypto
