// NAME
//   keys_commands - posternctl keys import | list | show | export | remove
// SUMMARY
//   posternctl keys import --password-file /root/alice.pass alice.p12
//   posternctl keys import --anchor root-ca.pem
//   posternctl keys list
//   posternctl keys show b@example.net
//   posternctl keys export b@example.net > b.pem
//   posternctl keys remove 3f9a0c1d
// DESCRIPTION
//   The administrator's view of the local key store (docs/keys.md); every
//   command takes --store DIR (default /var/lib/postern). import takes PEM,
//   DER or PKCS#12; a password is only ever read from a file (first line),
//   never from the command line, and never printed. show lists, for
//   encryption and for signing, the certificate selection would use and
//   every other candidate with the reason it is not usable. export prints
//   the selected certificate as PEM, never a private key.
//   Exit codes: 0 done; 1 nothing found (show/export: no usable
//   certificate, remove: nothing matched); 2 the store or a file could not
//   be read or written, or the file was refused; 64 usage.
// THREADS
//   Single-threaded, like the rest of posternctl.
#pragma once

#include "postern/ctl/dispatcher.hpp"

namespace postern::ctl {

void add_keys_commands(Dispatcher& d);

}  // namespace postern::ctl
