#!/usr/bin/env python3
"""The common main of every Postern milter, tested on a real binary.

-n prints FILE:LINE:COL for each problem and exits 0/1; --reference prints
the generated docs; SIGUSR1 reloads (a bad config is refused and the old one
kept, a good one takes effect for new connections); SIGTERM stops cleanly.
Usage: test_program.py FILTER PORT
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

FILTER = sys.argv[1]
PORT = int(sys.argv[2])

CHECK_HEADER = """
local conn = mt.connect("inet:%d@127.0.0.1", 40, 0.25)
if conn == nil then error("connect") end
mt.conninfo(conn, "client.example.org", "192.0.2.7")
mt.mailfrom(conn, "<s@example.org>")
mt.rcptto(conn, "<r@example.com>")
mt.header(conn, "Subject", "x")
mt.eom(conn)
if not mt.eom_check(conn, MT_HDRADD, "%s") then error("header %s not added") end
mt.disconnect(conn)
"""


def miltertest(script):
    return subprocess.run(["miltertest"], input=script, text=True, capture_output=True, timeout=60)


class ProgramTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.config = os.path.join(self.dir.name, "testfilter.yaml")
        self.log = os.path.join(self.dir.name, "stderr.log")

    def tearDown(self):
        self.dir.cleanup()

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def test_check_good_config(self):
        self.write_config('milter:\n  socket: "inet:%d@127.0.0.1"\n' % PORT)
        r = subprocess.run([FILTER, "-n", "-c", self.config], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(self.config + ": ok", r.stdout)

    def test_check_reports_every_problem_with_location(self):
        self.write_config("milter:\n  socket: nowhere\n  timeout: 5 parsecs\n  colour: blue\nlog:\n  level: loud\n")
        r = subprocess.run([FILTER, "-n", "-c", self.config], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        lines = r.stderr.strip().splitlines()
        self.assertTrue(any(l.startswith(self.config + ":3:") and "timeout" in l for l in lines), lines)
        self.assertTrue(any(l.startswith(self.config + ":4:") and "colour" in l for l in lines), lines)
        self.assertTrue(any(l.startswith(self.config + ":6:") and "loud" in l for l in lines), lines)

    def test_check_socket_forms(self):
        for value, ok in (("nowhere", False), ("unix:", False), ("local:", False), ("inet:", False),
                          ("unix:/run/postern/t.sock", True), ("local:/run/t.sock", True),
                          ("inet:10099@127.0.0.1", True), ("inet6:10099@[::1]", True)):
            with self.subTest(value):
                self.write_config('milter:\n  socket: "%s"\n' % value)
                r = subprocess.run([FILTER, "-n", "-c", self.config], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0 if ok else 1, r.stderr)
                if not ok:
                    self.assertIn(self.config + ":2:", r.stderr)
                    self.assertIn("milter.socket must look like", r.stderr)

    def test_check_missing_file(self):
        r = subprocess.run([FILTER, "-n", "-c", self.config + ".absent"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn(".absent", r.stderr)

    def test_reference_lists_common_keys(self):
        r = subprocess.run([FILTER, "--reference"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        for key in ("socket", "on_internal_error", "level", "header"):
            self.assertIn(key, r.stdout)

    def test_unknown_option_is_usage_error(self):
        r = subprocess.run([FILTER, "-x"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("usage:", r.stderr)

    def test_reload_and_stop(self):
        self.write_config('milter:\n  socket: "inet:%d@127.0.0.1"\ntest:\n  header: X-First\n' % PORT)
        with open(self.log, "w") as err:
            proc = subprocess.Popen([FILTER, "-f", "-c", self.config], stderr=err)
        try:
            r = miltertest(CHECK_HEADER % (PORT, "X-First", "X-First"))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

            # A bad config is refused; the old one keeps serving.
            self.write_config('milter:\n  socket: "inet:%d@127.0.0.1"\ntest:\n  header: X-Second\n  bogus: 1\n' % PORT)
            proc.send_signal(signal.SIGUSR1)
            self.wait_for_log("reload-failed")
            r = miltertest(CHECK_HEADER % (PORT, "X-First", "X-First"))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

            # A good one takes effect for new connections.
            self.write_config('milter:\n  socket: "inet:%d@127.0.0.1"\ntest:\n  header: X-Second\n' % PORT)
            proc.send_signal(signal.SIGUSR1)
            self.wait_for_log("reloaded")
            r = miltertest(CHECK_HEADER % (PORT, "X-Second", "X-Second"))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=20), 0)
            self.assertIn("stopped status=ok", open(self.log).read())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def start_on_unix_socket(self, path):
        self.write_config('milter:\n  socket: "unix:%s"\ntest:\n  header: X-Unix\n' % path)
        with open(self.log, "w") as err:
            proc = subprocess.Popen([FILTER, "-f", "-c", self.config], stderr=err)
        deadline = time.monotonic() + 20
        while not os.path.exists(path):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                self.fail("no socket %s; log: %s" % (path, open(self.log).read()))
            time.sleep(0.05)
        return proc

    def stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=20), 0)
        self.assertIn("stopped status=ok", open(self.log).read())

    def test_unix_socket_served_and_removed_on_stop(self):
        path = os.path.join(self.dir.name, "t.sock")
        proc = self.start_on_unix_socket(path)
        try:
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o660)  # milter.socket_mode's default
            script = CHECK_HEADER.replace('"inet:%d@127.0.0.1"', '"unix:%s"') % (path, "X-Unix", "X-Unix")
            r = miltertest(script)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.stop(proc)
            self.assertFalse(os.path.exists(path), "a clean stop leaves no socket file")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_stop_keeps_a_socket_file_it_did_not_make(self):
        # A newer instance's socket in the same place (a restart that
        # overlapped) survives the old instance's stop.
        path = os.path.join(self.dir.name, "t.sock")
        proc = self.start_on_unix_socket(path)
        newer = socket.socket(socket.AF_UNIX)
        try:
            os.unlink(path)
            newer.bind(path)
            self.stop(proc)
            self.assertTrue(os.path.exists(path))
        finally:
            newer.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_socket_in_use_fails_clearly(self):
        blocker = socket.socket()
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", PORT))
        blocker.listen(1)
        try:
            self.write_config('milter:\n  socket: "inet:%d@127.0.0.1"\n' % PORT)
            r = subprocess.run([FILTER, "-f", "-c", self.config], capture_output=True, text=True, timeout=20)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("cannot open milter socket", r.stderr)
        finally:
            blocker.close()

    def wait_for_log(self, word, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if word in open(self.log).read():
                return
            time.sleep(0.05)
        self.fail("log never said %r: %s" % (word, open(self.log).read()))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
