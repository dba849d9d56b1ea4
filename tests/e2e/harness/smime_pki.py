"""S/MIME certificates made with the openssl command line, for the end-to-end
tests and the demo gateway: a root CA and RSA-2048 user certificates with
the address in subjectAltName and emailProtection, each as NAME.pem and
NAME.key (0600) in one folder.

    pki = SmimePki(folder)                 # makes folder/root.pem and root.key
    alice = pki.user("alice", "alice@example.com")   # folder/alice, without suffix
"""

from __future__ import annotations

import os
import subprocess


def openssl(*args: str, data: bytes | None = None) -> bytes:
    """Runs openssl; its stdout, or AssertionError with its stderr."""
    proc = subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed:\n{proc.stderr.decode(errors='replace')}")
    return proc.stdout


class SmimePki:
    """A root CA and S/MIME user certificates (RSA-2048), made with openssl."""

    def __init__(self, directory: str, organisation: str = "Postern E2E", days: int = 30) -> None:
        self.dir = directory
        self.days = str(days)
        self.organisation = organisation
        self.root = self.path("root")
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if not os.path.exists(self.root + ".pem"):
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.root + ".key",
                    "-out", self.root + ".pem", "-days", self.days,
                    "-subj", f"/O={organisation}/CN={organisation} Root",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign")
            os.chmod(self.root + ".key", 0o600)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def user(self, name: str, email: str) -> str:
        """Makes NAME.pem and NAME.key for `email`; returns the path without suffix."""
        base = self.path(name)
        with open(base + ".ext", "w", encoding="ascii") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                    f"extendedKeyUsage=emailProtection\nsubjectAltName=email:{email}\n")
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", base + ".key", "-out", base + ".csr",
                "-subj", f"/O={self.organisation}/CN={name}")
        openssl("x509", "-req", "-in", base + ".csr", "-CA", self.root + ".pem", "-CAkey", self.root + ".key",
                "-CAcreateserial", "-days", self.days, "-extfile", base + ".ext", "-out", base + ".pem")
        os.chmod(base + ".key", 0o600)
        return base

    def bundle(self, base: str) -> str:
        """NAME-bundle.pem (0600): the certificate and its key, for `posternctl keys import`."""
        path = base + "-bundle.pem"
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="ascii") as f:
            for part in (base + ".pem", base + ".key"):
                with open(part, encoding="ascii") as src:
                    f.write(src.read())
        return path
