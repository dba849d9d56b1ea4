"""The harness's private slapd (harness/slapd.py): it starts, holds the test
directory, speaks StartTLS and ldaps with its test CA, and stops and comes
back on the same port with the same data.
"""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.slapd import Slapd, slapd_missing  # noqa: E402
from harness.testing import EXIT_SKIPPED  # noqa: E402


class SlapdTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="postern-slapd-")
        self.addCleanup(self.tmp.cleanup)
        self.ldap = Slapd(self.tmp.name)
        self.ldap.start()
        self.addCleanup(self.ldap.stop)

    def ldapsearch(self, uri: str, *args: str, ca: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, LDAPTLS_CACERT=ca or self.ldap.ca_file, LDAPTLS_REQCERT="demand")
        return subprocess.run(["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", uri, "-b", Slapd.BASE_DN,
                               *args], capture_output=True, text=True, timeout=30, env=env)

    def test_directory_memberof_and_certificates(self) -> None:
        out = self.ldap.search(Slapd.BASE_DN, "(mail=alice@example.org)", "memberOf", "departmentNumber")
        self.assertIn("memberOf: cn=staff,ou=groups,dc=example,dc=org", out)
        self.assertIn("memberOf: cn=crypto-users,ou=groups,dc=example,dc=org", out)
        self.assertIn("departmentNumber: Engineering", out)
        certs = self.ldap.search(Slapd.BASE_DN, "(userCertificate;binary=*)", "1.1")
        self.assertEqual(certs.count("dn: "), 2, certs)

    def test_tls_and_bind(self) -> None:
        r = self.ldapsearch(self.ldap.uri, "-ZZ", "-D", Slapd.BIND_DN, "-w", Slapd.BIND_PASSWORD, "(uid=bob)", "mail")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("mail: bob@example.org", r.stdout)
        r = self.ldapsearch(self.ldap.ldaps_uri, "(uid=bob)", "title")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("title: Manager", r.stdout)
        r = self.ldapsearch(self.ldap.uri, "-D", Slapd.BIND_DN, "-w", "wrong", "(uid=bob)")
        self.assertEqual(r.returncode, 49, r.stderr)  # invalidCredentials
        r = self.ldapsearch(self.ldap.ldaps_uri, "(uid=bob)", ca="/dev/null")
        self.assertNotEqual(r.returncode, 0, "an untrusted server certificate was accepted")

    def test_stop_and_restart(self) -> None:
        port = self.ldap.port
        self.ldap.stop()
        r = self.ldapsearch(self.ldap.uri, "-o", "nettimeout=2", "(uid=bob)")
        self.assertNotEqual(r.returncode, 0)
        self.ldap.restart()
        self.assertEqual(self.ldap.port, port)
        self.assertIn("mail: bob@example.org", self.ldap.search(Slapd.BASE_DN, "(uid=bob)", "mail"))


if __name__ == "__main__":
    problems = slapd_missing()
    if problems:
        require_all = os.environ.get("POSTERN_REQUIRE_ALL") == "1"
        print(("FAILED: " if require_all else "SKIPPED: ") + "; ".join(problems), file=sys.stderr)
        sys.exit(1 if require_all else EXIT_SKIPPED)
    sys.exit(0 if unittest.main(exit=False, verbosity=2).result.wasSuccessful() else 1)
