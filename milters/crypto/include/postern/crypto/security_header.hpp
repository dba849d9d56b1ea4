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
//
//   authentication_results_value() is the Authentication-Results value
//   (RFC 8601 with RFC 7281's method smime) for a message whose signatures
//   were checked, one result per signature:
//     " AUTHSERV-ID; smime=RESULT body.smime-identifier=ADDRESS
//       body.smime-serial=HEX"
//   RESULT: pass (valid, signer is the From address), policy (valid, but
//   not from the From address), fail (bad signature, revoked, untrusted,
//   expired, wrong usage), neutral (not checked: still encrypted). "" when
//   the message carries no signature. is_smime_result() tells whether a
//   raw Authentication-Results value claims `authserv_id` and holds an
//   smime result (forged, when it arrives from outside).
//
//   security_tag() is the subject tag a plan's SecurityTags ask for, given
//   what opening found: the decrypted tag, then the signed or invalid one,
//   separated by a space; "" for none.
// THREADS
//   Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "postern/plan/plan.hpp"
#include "postern/smime/status.hpp"

namespace postern::crypto {

std::string security_value(const smime::SecurityStatus& status);

// printable ASCII, '"' and '\' dropped, at most `limit` characters.
std::string safe_text(std::string_view text, std::size_t limit = 200);

std::string authentication_results_value(const smime::SecurityStatus& status, std::string_view authserv_id);
bool is_smime_result(std::string_view raw_value, std::string_view authserv_id);
std::string security_tag(const smime::SecurityStatus& status, const plan::SecurityTags& tags);

// "bad-signature" for Verdict::bad_signature, ...
std::string verdict_word(smime::Verdict verdict);

}  // namespace postern::crypto
