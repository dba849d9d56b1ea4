"""The harness's own logic, without Postfix: YAML key setting, swaks transcript
reading, and the capture program. The e2e tests trust these.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import HarnessError, MilterProcess, MilterSpec, parse_swaks, read_deliveries, set_key  # noqa: E402
from harness import capture  # noqa: E402


class SetKeyTest(unittest.TestCase):
    CASES = [
        # (name, config, path, value, expected)
        ("replace nested value keeps comments",
         "# top\nmilter:\n  # why\n  socket: inet:1@127.0.0.1  # old\n  timeout: 5s\n",
         "milter.socket", '"inet:2@127.0.0.1"',
         '# top\nmilter:\n  # why\n  socket: "inet:2@127.0.0.1"\n  timeout: 5s\n'),
        ("add key to existing section, before the next section's comments",
         "log:\n  level: info\n\n# next\nother:\n  a: 1\n",
         "log.file", "x",
         "log:\n  level: info\n  file: x\n\n# next\nother:\n  a: 1\n"),
        ("add missing section at the end", "log:\n  level: info\n", "milter.socket", "s",
         "log:\n  level: info\nmilter:\n  socket: s\n"),
        ("empty config", "", "milter.socket", "s", "milter:\n  socket: s\n"),
        ("no final newline", "a:\n  b: 1", "a.b", "2", "a:\n  b: 2\n"),
        ("replace block list", "a:\n  list:\n    - 1\n    - 2\n  b: 3\n", "a.list", "[]", "a:\n  list: []\n  b: 3\n"),
        ("replace list at key indentation", "a:\n  list:\n  - 1\n  b: 3\n", "a.list", "[x]", "a:\n  list: [x]\n  b: 3\n"),
        ("same key name in another section untouched", "x:\n  socket: 1\nmilter:\n  socket: 2\n",
         "milter.socket", "3", "x:\n  socket: 1\nmilter:\n  socket: 3\n"),
        ("deeper and wider indentation", "a:\n    deep:\n        x: 1\n", "a.deep.y", "2",
         "a:\n    deep:\n        x: 1\n        y: 2\n"),
        ("top-level key", "a: 1\nb: 2\n", "b", "3", "a: 1\nb: 3\n"),
    ]

    def test_cases(self) -> None:
        for name, config, path, value, expected in self.CASES:
            with self.subTest(name):
                self.assertEqual(set_key(config, path, value), expected)

    def test_flow_style_parent_is_refused(self) -> None:
        with self.assertRaises(HarnessError):
            set_key("milter: { socket: x }\n", "milter.socket", "y")


OK_SESSION = """\
=== Trying 127.0.0.1:2525...
=== Connected to 127.0.0.1.
<-  220 gw ESMTP Postfix
 -> EHLO client
<-  250-gw
<-  250 SMTPUTF8
 -> MAIL FROM:<a@example.com>
<-  250 2.1.0 Ok
 -> RCPT TO:<b@example.com>
<-  250 2.1.5 Ok
 -> DATA
<-  354 End data with <CR><LF>.<CR><LF>
 -> Subject: x
 -> .
<-  250 2.0.0 Ok: queued as 4A1B2C3D4E
 -> QUIT
<-  221 2.0.0 Bye
"""


class UnixSocketPathTest(unittest.TestCase):
    """A UNIX-socket milter listens in the queue directory and Postfix gets
    the path relative to it; a path too long to bind is refused up front."""

    def process(self, queue_dir: str) -> MilterProcess:
        spec = MilterSpec(binary="/usr/sbin/postern-policy", config_text="", transport="unix")
        return MilterProcess(spec, os.path.join(self.dir, "policy.yaml"), os.path.join(self.dir, "policy.log"),
                             queue_dir)

    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="postern-harness-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.dir], check=False))

    def test_socket_in_queue_directory_named_relative_for_postfix(self) -> None:
        m = self.process("/var/spool/postfix")
        self.assertEqual(m.socket_path, "/var/spool/postfix/postern/policy.sock")
        self.assertEqual(m.milter_socket, "unix:/var/spool/postfix/postern/policy.sock")
        self.assertEqual(m.postfix_address, "unix:postern/policy.sock")
        m.write_config()
        with open(m.config_file, encoding="utf-8") as f:
            self.assertIn('socket: "unix:/var/spool/postfix/postern/policy.sock"', f.read())

    def test_too_long_a_path_is_refused(self) -> None:
        m = self.process("/tmp/" + "q" * 100)
        with self.assertRaisesRegex(HarnessError, "more than a UNIX socket takes"):
            m.write_config()
        self.assertFalse(os.path.exists(m.config_file))


class ParseSwaksTest(unittest.TestCase):
    def test_accepted(self) -> None:
        r = parse_swaks(OK_SESSION, 0)
        self.assertEqual((r.code, r.queue_id, r.accepted), (250, "4A1B2C3D4E", True))

    def test_tempfail_at_end_of_data(self) -> None:
        t = OK_SESSION.replace("<-  250 2.0.0 Ok: queued as 4A1B2C3D4E",
                               "<** 451 4.7.1 Service unavailable - try again later")
        r = parse_swaks(t, 26)
        self.assertEqual((r.code, r.queue_id, r.tempfailed), (451, None, True))

    def test_tempfail_at_mail(self) -> None:
        t = OK_SESSION.replace("<-  250 2.1.0 Ok", "<** 451 4.7.1 Service unavailable - try again later")
        t = t[:t.index(" -> RCPT")]
        r = parse_swaks(t, 23)
        self.assertEqual((r.code, r.tempfailed), (451, True))

    def test_reject_after_data_decides_even_if_quit_is_ok(self) -> None:
        t = OK_SESSION.replace("<-  250 2.0.0 Ok: queued as 4A1B2C3D4E", "<** 550 5.7.1 no")
        self.assertEqual(parse_swaks(t, 26).code, 550)

    def test_multiline_reply_text_is_joined(self) -> None:
        t = OK_SESSION.replace("<-  250 2.0.0 Ok: queued as 4A1B2C3D4E",
                               "<** 554-5.7.1 first\n<** 554 5.7.1 second")
        r = parse_swaks(t, 26)
        self.assertEqual((r.code, r.reply), (554, "5.7.1 first\n5.7.1 second"))

    def test_no_reply_at_all(self) -> None:
        r = parse_swaks("=== Trying 127.0.0.1:2525...\n*** Error connecting\n", 2)
        self.assertEqual((r.code, r.accepted, r.tempfailed, r.rejected), (None, False, False, False))


class CaptureTest(unittest.TestCase):
    def deliver(self, route_dir: str, data: bytes, recipient: str = "a@example.com", sender: str = "s@example.org"):
        return subprocess.run(
            [sys.executable, "-I", "-S", capture.__file__, route_dir, "--queue-id=ABC123", f"--sender={sender}",
             f"--recipient={recipient}", f"--original-recipient={recipient}"],
            input=data, capture_output=True)

    def test_stores_exact_bytes_and_envelope(self) -> None:
        with tempfile.TemporaryDirectory() as root:
            route = os.path.join(root, "local")
            os.mkdir(route)
            data = b"Return-Path: <s@example.org>\nSubject: x\n\nbody \xe2\x82\xac\n\n"
            self.assertEqual(self.deliver(route, data, sender="").returncode, 0)
            [d] = read_deliveries(root)
            self.assertEqual((d.route, d.queue_id, d.sender, d.recipient, d.data), ("local", "ABC123", "", "a@example.com", data))
            self.assertEqual(d.header("subject"), "x")
            self.assertEqual(d.body, "body €\n\n".encode())
            self.assertEqual(os.listdir(os.path.join(route, ".tmp")), [])

    def test_second_delivery_never_overwrites(self) -> None:
        with tempfile.TemporaryDirectory() as root:
            route = os.path.join(root, "local")
            os.mkdir(route)
            for body in (b"one\n", b"two\n"):
                self.assertEqual(self.deliver(route, body).returncode, 0)
            self.assertEqual(sorted(d.data for d in read_deliveries(root)), [b"one\n", b"two\n"])
            with open(os.path.join(route, "ABC123.a@example.com.2.json"), encoding="utf-8") as f:
                self.assertEqual(json.load(f)["file"], "ABC123.a@example.com.2.eml")

    def test_odd_recipient_gives_a_safe_file_name(self) -> None:
        with tempfile.TemporaryDirectory() as root:
            route = os.path.join(root, "internet")
            os.mkdir(route)
            self.assertEqual(self.deliver(route, b"x\n", recipient='"a/../b c"@example.org').returncode, 0)
            [d] = read_deliveries(root)
            self.assertEqual(os.path.dirname(d.path), route)
            self.assertEqual(d.recipient, '"a/../b c"@example.org')

    def test_failure_asks_postfix_to_retry(self) -> None:
        r = self.deliver("/nonexistent/route", b"x\n")
        self.assertEqual(r.returncode, capture.EX_TEMPFAIL)
        self.assertIn(b"capture:", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
