"""postfix-examples/ is what mail admins copy: Postfix must read it without a
warning, and it must say what the architecture requires (chain order,
tempfail, the plan kept on re-injection, X-Postern-* dropped), and it must fit
with the IncaMail snippet in postfix-examples/incamail/.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.testing import SOURCE_DIR, main  # noqa: E402

EXAMPLES = os.path.join(SOURCE_DIR, "postfix-examples")
# Where each milter listens by default (packaging/config/<name>.yaml).
DEFAULT_PORTS = {"spf": 10031, "policy": 10032, "incamail": 10033, "crypto": 10034}


def postconf(config_dir: str, *args: str) -> str:
    proc = subprocess.run(["postconf", "-c", config_dir, *args], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0 or proc.stderr:
        raise AssertionError(f"postconf {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}")
    return proc.stdout


def lookup(config_dir: str, table: str, key: str) -> str | None:
    proc = subprocess.run(["postmap", "-c", config_dir, "-q", key, table], capture_output=True, text=True, timeout=30)
    if proc.returncode not in (0, 1) or proc.stderr:
        raise AssertionError(f"postmap -q {key} {table}: exit {proc.returncode}\n{proc.stderr}")
    return proc.stdout.strip() if proc.returncode == 0 else None


def milter_ports(value: str) -> list[int]:
    return [int(p) for p in re.findall(r"inet:127\.0\.0\.1:(\d+)", value)]


def parse(output: str) -> dict[str, str]:
    """postconf's "name = value" lines (an empty value prints as "name =")."""
    pairs = (line.partition(" =") for line in output.splitlines())
    return {name: value.strip() for name, _, value in pairs}


class PostfixExamplesTest(unittest.TestCase):
    """Postfix reads both files without a warning (postconf warns about unknown,
    unused and undefined parameters), so every test starts from what it read."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.dir = tempfile.mkdtemp(prefix="postern-examples-")
        cls.addClassCleanup(shutil.rmtree, cls.dir)
        shutil.copy(os.path.join(EXAMPLES, "main.cf"), os.path.join(cls.dir, "main.cf"))
        shutil.copy(os.path.join(EXAMPLES, "master.cf"), os.path.join(cls.dir, "master.cf"))
        cls.main_cf = parse(postconf(cls.dir, "-n"))
        cls.services = postconf(cls.dir, "-M")
        cls.service_params = parse(postconf(cls.dir, "-P"))

    def test_ports_match_the_milters_example_configs(self) -> None:
        checked = 0
        for name, port in DEFAULT_PORTS.items():
            path = os.path.join(SOURCE_DIR, "packaging", "config", f"{name}.yaml")
            if not os.path.exists(path):
                continue
            with open(path, encoding="utf-8") as f:
                m = re.search(r"(?m)^  socket: *[\"']?inet:(\d+)@127\.0\.0\.1", f.read())
            self.assertIsNotNone(m, f"{path}: no milter.socket on 127.0.0.1")
            self.assertEqual(int(m.group(1)), port, f"{path} and postfix-examples/main.cf disagree")
            checked += 1
        if not checked:
            self.skipTest("no example milter config in packaging/config yet")

    def test_chain_is_in_order_and_fails_closed(self) -> None:
        chain = self.main_cf["smtpd_milters"]
        ports = [DEFAULT_PORTS[n] for n in ("spf", "policy", "incamail", "crypto")]
        self.assertEqual(milter_ports(chain), ports)
        entries = re.findall(r"\{[^}]*\}", chain)
        self.assertEqual(len(entries), 4)
        for entry in entries:
            self.assertIn("default_action=tempfail", entry)
        self.assertEqual(self.main_cf["milter_default_action"], "tempfail")

    def test_reinjection_listener_runs_incamail_and_crypto_and_keeps_the_plan(self) -> None:
        params = self.service_params
        service = "127.0.0.1:10030/inet"
        self.assertEqual(params[f"{service}/smtpd_milters"], "$postern_reinject_milters")
        self.assertRegex(self.services, r"(?m)^127\.0\.0\.1:10030 +inet .* smtpd ")
        reinject = self.main_cf["postern_reinject_milters"]
        self.assertEqual(milter_ports(reinject), [DEFAULT_PORTS["incamail"], DEFAULT_PORTS["crypto"]])
        self.assertIn("no_header_body_checks", params[f"{service}/receive_override_options"])
        self.assertTrue(params[f"{service}/smtpd_relay_restrictions"].endswith("reject"))

    def test_internal_headers_are_dropped_and_others_kept(self) -> None:
        table = "regexp:" + os.path.join(EXAMPLES, "postern_header_checks")
        for header in ("X-Postern-Plan: v=1; x", "x-postern-incamail: verified", "X-POSTERN-Anything: 1"):
            with self.subTest(header):
                self.assertEqual(lookup(self.dir, table, header), "IGNORE")
        for header in ("Subject: X-Postern-Plan", "X-Posternal: 1", "Received: by X-Postern-Plan:"):
            with self.subTest(header):
                self.assertIsNone(lookup(self.dir, table, header))
        for param in ("header_checks", "smtp_header_checks"):
            self.assertEqual(self.main_cf[param], "regexp:/etc/postfix/postern_header_checks")
        # The internal relay transport keeps the status marks for internal recipients.
        self.assertEqual(self.service_params["relay/unix/smtp_header_checks"], "")

    def test_incamail_snippet_adds_to_this_one_without_conflicts(self) -> None:
        # postfix-examples/incamail/ is added beside these files, all but the
        # milter lines this main.cf already has for the whole chain.
        path = os.path.join(EXAMPLES, "incamail", "main.cf")
        if not os.path.exists(path):
            self.skipTest(f"no {path} yet")
        other = tempfile.mkdtemp(prefix="postern-examples-")
        self.addCleanup(shutil.rmtree, other)
        shutil.copy(path, os.path.join(other, "main.cf"))
        with open(os.path.join(other, "master.cf"), "w", encoding="utf-8"):
            pass
        incamail = parse(postconf(other, "-n"))
        shared = set(incamail) & set(self.main_cf) - {"config_directory"}
        self.assertEqual(shared, {"smtpd_milters", "milter_default_action"})
        # Its single entry is this chain's third, setting for setting.
        self.assertEqual(re.findall(r"\{[^}]*\}", incamail["smtpd_milters"]),
                         re.findall(r"\{[^}]*\}", self.main_cf["smtpd_milters"])[2:3])


if __name__ == "__main__":
    main()
