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
CHAIN = ("spf", "policy", "incamail", "crypto")
# Where the packaged configs (packaging/config/<name>.yaml) put the milters'
# sockets, and what main.cf calls them: relative to the queue directory.
QUEUE_DIRECTORY = "/var/spool/postfix"
SOCKET_DIR = QUEUE_DIRECTORY + "/postern"


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


def milter_sockets(value: str) -> list[str]:
    """The milter addresses in a smtpd_milters-like value, in order."""
    return re.findall(r"\{\s*((?:unix|inet):[^,\s}]+)", value)


def postfix_address(name: str) -> str:
    return f"unix:postern/{name}.sock"


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

    def test_sockets_match_the_milters_packaged_configs(self) -> None:
        # Postfix works in its queue directory (chrooted there on Debian), so
        # main.cf's relative path and the milter's absolute one must name the
        # same file, in the directory the packages make.
        self.assertNotIn("queue_directory", self.main_cf)  # Debian's default, QUEUE_DIRECTORY
        for name in CHAIN:
            path = os.path.join(SOURCE_DIR, "packaging", "config", f"{name}.yaml")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            m = re.search(r"(?m)^  socket: *[\"']?unix:(\S+?)[\"']?$", text)
            self.assertIsNotNone(m, f"{path}: milter.socket is not a unix: socket")
            self.assertEqual(m.group(1), f"{SOCKET_DIR}/{name}.sock")
            relative = postfix_address(name).removeprefix("unix:")
            self.assertEqual(os.path.join(QUEUE_DIRECTORY, relative), m.group(1),
                             f"{path} and postfix-examples/main.cf disagree")
            self.assertRegex(text, r"(?m)^  socket_group: postfix$", f"{path}: Postfix could not connect")

    def test_packages_make_the_socket_directory(self) -> None:
        for script in (os.path.join("deb", "postinst"), os.path.join("rpm", "post.sh")):
            with open(os.path.join(SOURCE_DIR, "packaging", script), encoding="utf-8") as f:
                text = f.read()
            with self.subTest(script):
                self.assertRegex(text, rf"install -d -o postern -g postfix -m 0750 {re.escape(SOCKET_DIR)}")
        with open(os.path.join(SOURCE_DIR, "packaging", "systemd", "postern@.service"), encoding="utf-8") as f:
            unit = f.read()
        # ProtectSystem=strict makes /var read-only for the milters otherwise.
        self.assertRegex(unit, rf"(?m)^ReadWritePaths=.*-{re.escape(SOCKET_DIR)}\b")

    def test_chain_is_in_order_and_fails_closed(self) -> None:
        chain = self.main_cf["smtpd_milters"]
        self.assertEqual(milter_sockets(chain), [postfix_address(n) for n in CHAIN])
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
        self.assertEqual(milter_sockets(reinject), [postfix_address("incamail"), postfix_address("crypto")])
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
