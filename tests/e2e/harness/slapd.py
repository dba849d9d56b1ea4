"""A real, private OpenLDAP server on loopback, for end-to-end tests of the
milters that ask a directory (postern-policy, later postern-crypto).

    with Slapd(directory) as ldap:                 # tests/data/ldap/directory.ldif loaded
        config = f"ldap:\\n  uris: ['{ldap.uri}']\\n  base_dn: {ldap.BASE_DN}\\n"
        ldap.stop(); ...; ldap.restart()          # directory down, then back

The Python twin of tests/support/slapd.cpp: in `directory` it makes a test CA
and a server certificate for 127.0.0.1 with openssl, builds cn=config with
slapadd -n0 from tests/data/ldap/slapd-config.ldif.in (mdb, dc=example,dc=org,
rootdn cn=admin,dc=example,dc=org, the memberof overlay), starts
/usr/sbin/slapd in the foreground on two free loopback ports (ldap:// with
StartTLS, and ldaps://), waits until both accept connections and loads the
LDIF files with ldapadd. Only the process it started is ever signalled; the
package's own slapd service is not used.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time

from .testing import SOURCE_DIR
from .util import HarnessError, free_port

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
DATA_DIR = os.path.join(SOURCE_DIR, "tests", "data", "ldap")


def slapd_missing() -> list[str]:
    """Why a private slapd cannot run here (empty when it can)."""
    problems = [f"{tool} not installed (apt-get install slapd ldap-utils openssl)"
                for tool in (SLAPD, SLAPADD) if not os.access(tool, os.X_OK)]
    problems += [f"{tool} not installed (apt-get install ldap-utils openssl)"
                 for tool in ("ldapadd", "ldapsearch", "openssl") if shutil.which(tool) is None]
    return problems


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Slapd:
    BASE_DN = "dc=example,dc=org"
    ROOT_DN = "cn=admin,dc=example,dc=org"
    BIND_DN = "cn=postern,ou=services,dc=example,dc=org"  # the service account in directory.ldif
    BIND_PASSWORD = "postern-bind-secret"

    def __init__(self, directory: str, ldif_files: list[str] | None = None,
                 root_password: str = "postern-root-secret") -> None:
        self.dir = os.path.abspath(directory)
        self.ldif_files = ldif_files or [os.path.join(DATA_DIR, "directory.ldif")]
        self.root_password = root_password
        self.port = 0
        self.ldaps_port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = os.path.join(self.dir, "slapd.log")

    # -- where it is --------------------------------------------------------
    @property
    def uri(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_uri(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def ca_file(self) -> str:
        return os.path.join(self.dir, "tls", "ca.pem")

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- life cycle ---------------------------------------------------------
    def __enter__(self) -> "Slapd":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Prepares the directory, starts slapd and loads the LDIF files."""
        problems = slapd_missing()
        if problems:
            raise HarnessError("; ".join(problems))
        self._prepare()
        self._launch()
        for ldif in self.ldif_files:
            self._run(["ldapadd", "-x", "-H", self.uri, "-D", self.ROOT_DN, "-w", self.root_password, "-f", ldif],
                      f"ldapadd {ldif}")

    def stop(self) -> None:
        """Ends slapd (SIGTERM, SIGKILL after 5 s). The data stay for restart()."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Starts slapd again on the same ports with the same data."""
        self.stop()
        self._launch()

    def search(self, base: str, filter_: str, *attrs: str) -> str:
        """ldapsearch -LLL as anonymous, for tests that check the directory itself."""
        proc = subprocess.run(["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", self.uri, "-b", base,
                               filter_, *attrs], capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise HarnessError(f"ldapsearch failed:\n{proc.stderr}")
        return proc.stdout

    # -- steps --------------------------------------------------------------
    def _run(self, argv: list[str], what: str) -> None:
        with open(self.log_path, "ab") as log:
            proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=60)
        if proc.returncode != 0:
            raise HarnessError(f"{what} failed (see {self.log_path}):\n{self.log()[-2000:]}")

    def _prepare(self) -> None:
        tls = os.path.join(self.dir, "tls")
        for sub in ("tls", "db", "slapd.d"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        with open(os.path.join(tls, "server.ext"), "w", encoding="ascii") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
        self._run(["openssl", "req", "-x509", *ec, "-keyout", f"{tls}/ca.key", "-out", f"{tls}/ca.pem",
                   "-days", "2", "-subj", "/O=Postern Test/CN=Postern Test LDAP CA",
                   "-addext", "basicConstraints=critical,CA:TRUE",
                   "-addext", "keyUsage=critical,keyCertSign,cRLSign"], "openssl (CA)")
        self._run(["openssl", "req", "-new", *ec, "-keyout", f"{tls}/server.key", "-out", f"{tls}/server.csr",
                   "-subj", "/O=Postern Test/CN=127.0.0.1"], "openssl (server request)")
        self._run(["openssl", "x509", "-req", "-in", f"{tls}/server.csr", "-CA", f"{tls}/ca.pem",
                   "-CAkey", f"{tls}/ca.key", "-CAcreateserial", "-days", "2", "-out", f"{tls}/server.pem",
                   "-extfile", f"{tls}/server.ext"], "openssl (server certificate)")
        with open(os.path.join(DATA_DIR, "slapd-config.ldif.in"), encoding="utf-8") as f:
            config = f.read().replace("@DIR@", self.dir).replace("@ROOTPW@", self.root_password)
        config_path = os.path.join(self.dir, "config.ldif")
        with open(config_path, "w", encoding="utf-8") as f:
            f.write(config)
        self._run([SLAPADD, "-n0", "-F", os.path.join(self.dir, "slapd.d"), "-l", config_path], "slapadd -n0")
        self.port = free_port()
        self.ldaps_port = free_port()
        while self.ldaps_port == self.port:
            self.ldaps_port = free_port()

    def _launch(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [SLAPD, "-d", "0", "-h", f"{self.uri}/ {self.ldaps_uri}/", "-F", os.path.join(self.dir, "slapd.d")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _accepts(self.port) and _accepts(self.ldaps_port):
                return
            if self.proc.poll() is not None:
                self.proc = None
                raise HarnessError(f"slapd exited at start:\n{self.log()[-2000:]}")
            time.sleep(0.05)
        self.stop()
        raise HarnessError(f"slapd did not listen within 10 s:\n{self.log()[-2000:]}")
