"""Test certificates made with openssl, for private Postfix instances with TLS.

    pki = Pki(directory)
    ca = pki.make_ca("ca", "Postern Test CA")
    server = pki.make_leaf("server", ca, "/O=Postern Test/CN=mx.test", "mx.test", "serverAuth")
    rsa = pki.make_leaf("rsa", ca, "/CN=mx.test", "mx.test", "serverAuth", algorithm="rsa")

Certificates are made once per directory and reused; keys are mode 0600.
Postfix needs its tlsmgr service for TLS: add TLSMGR to master.cf.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import ssl
import subprocess

from .util import HarnessError

TLSMGR = "tlsmgr    unix  - - n 1000? 1 tlsmgr"


@dataclasses.dataclass(frozen=True)
class Cert:
    pem: str
    key: str

    def fingerprint(self, digest: str) -> str:
        """AA:BB:... of the DER certificate, as openssl prints it."""
        with open(self.pem, encoding="ascii") as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        return ":".join(f"{b:02X}" for b in hashlib.new(digest, der).digest())


class Pki:
    """A folder of test CAs and certificates (P-256 or RSA-2048, valid 30 days)."""

    def __init__(self, directory: str) -> None:
        self.dir = directory
        os.makedirs(directory, exist_ok=True)

    def _path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    @staticmethod
    def _openssl(*args: str) -> None:
        proc = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise HarnessError(f"openssl {' '.join(args)} failed:\n{proc.stderr}")

    @staticmethod
    def _newkey(algorithm: str) -> list[str]:
        if algorithm == "rsa":
            return ["-newkey", "rsa:2048"]
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]

    def make_ca(self, name: str, cn: str) -> Cert:
        cert = Cert(self._path(f"{name}.pem"), self._path(f"{name}.key"))
        if not os.path.exists(cert.pem):
            self._openssl("req", "-x509", *self._newkey("ec"), "-nodes",
                          "-keyout", cert.key, "-out", cert.pem, "-days", "30", "-subj", f"/O=Postern Test/CN={cn}",
                          "-addext", "basicConstraints=critical,CA:TRUE",
                          "-addext", "keyUsage=critical,keyCertSign,cRLSign")
            os.chmod(cert.key, 0o600)
        return cert

    def make_leaf(self, name: str, ca: Cert, subject: str, dns: str, usage: str, algorithm: str = "ec") -> Cert:
        """A certificate signed by ca; usage is the extendedKeyUsage list.
        RSA certificates also allow keyEncipherment, so a client can choose
        plain RSA key exchange (TLS 1.2 without forward secrecy)."""
        cert = Cert(self._path(f"{name}.pem"), self._path(f"{name}.key"))
        if os.path.exists(cert.pem):
            return cert
        key_usage = "digitalSignature,keyEncipherment" if algorithm == "rsa" else "digitalSignature"
        csr, ext = self._path(f"{name}.csr"), self._path(f"{name}.ext")
        with open(ext, "w", encoding="ascii") as f:
            f.write(f"basicConstraints=critical,CA:FALSE\nkeyUsage=critical,{key_usage}\n"
                    f"extendedKeyUsage={usage}\nsubjectAltName=DNS:{dns}\n")
        self._openssl("req", "-new", *self._newkey(algorithm), "-nodes", "-keyout", cert.key, "-out", csr,
                      "-subj", subject)
        self._openssl("x509", "-req", "-in", csr, "-CA", ca.pem, "-CAkey", ca.key, "-CAcreateserial",
                      "-days", "30", "-extfile", ext, "-out", cert.pem)
        os.chmod(cert.key, 0o600)
        return cert
