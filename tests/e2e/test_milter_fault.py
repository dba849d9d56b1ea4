"""A Postern milter that dies (kill -9) loses no mail: while it is down every
message gets a 4xx at the client (Postfix's default_action=tempfail), every
250 is delivered exactly once, nothing stays in the queue, and after a restart
mail is accepted again.

The milter under test: POSTERN_E2E_MILTER (default build/bin/postern-incamail)
with POSTERN_E2E_MILTER_CONFIG (default: its example config in the source
tree, else a config with only the milter section).
"""

import grp
import os
import stat
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import MilterSpec, PostfixInstance, message, swaks, wait_until  # noqa: E402
from harness.milter import example_config  # noqa: E402
from harness.testing import BIN_DIR, SOURCE_DIR, main  # noqa: E402

MILTER = os.environ.get("POSTERN_E2E_MILTER") or os.path.join(BIN_DIR, "postern-incamail")
SENDERS = 2              # concurrent clients, so the kill can land mid-transaction
PER_SENDER = 20
BEFORE_KILL = 8          # results seen before the kill
WHILE_DEAD = 8           # results seen while the milter is down
RECIPIENTS = (["alice@example.com"], ["someone@example.org"], ["alice@example.com", "someone@example.org"])


def milter_spec(transport: str) -> MilterSpec:
    name = os.path.basename(MILTER).removeprefix("postern-")
    config = os.environ.get("POSTERN_E2E_MILTER_CONFIG") or example_config(SOURCE_DIR, name)
    # Short Postfix-side timeouts: a hung milter must not stall the test.
    return MilterSpec(binary=MILTER, config_path=config, connect_timeout="5s", command_timeout="10s",
                      content_timeout="20s", transport=transport)


class MilterFaultTest(unittest.TestCase):
    def setUp(self) -> None:
        if not os.access(MILTER, os.X_OK):
            message_ = (f"\n{'!' * 72}\n!! SKIPPING the milter fault test: no milter binary at {MILTER}\n"
                        f"!! build it, or point POSTERN_E2E_MILTER at one\n{'!' * 72}")
            print(message_, file=sys.stderr)
            self.skipTest(f"no milter binary at {MILTER}")

    def test_kill_9_mid_traffic_loses_nothing(self) -> None:
        self.kill_9_mid_traffic("inet")

    def test_kill_9_mid_traffic_loses_nothing_over_a_unix_socket(self) -> None:
        """The same over a UNIX-domain socket: the killed milter leaves its
        socket file behind, and the restarted one replaces it."""
        self.kill_9_mid_traffic("unix")

    def kill_9_mid_traffic(self, transport: str) -> None:
        spec = milter_spec(transport)
        with PostfixInstance(milters=[spec]) as pf:
            milter = pf.milter(spec.name)
            if transport == "unix":
                # milter.socket_mode's default and the harness's socket_group.
                st = os.stat(milter.socket_path)
                self.assertTrue(stat.S_ISSOCK(st.st_mode))
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
                self.assertEqual(grp.getgrgid(st.st_gid).gr_name, "postfix")
            # (seq tag, recipients, SmtpResult, start, end) per message
            results: list[tuple[str, list[str], object, float, float]] = []
            lock = threading.Lock()

            def sender(worker: int) -> None:
                for i in range(PER_SENDER):
                    tag = f"{worker}-{i}"
                    rcpts = RECIPIENTS[i % len(RECIPIENTS)]
                    data = message("bob@example.com", rcpts, f"fault test {tag}", f"message {tag}\n",
                                   headers=[("X-Test-Seq", tag)])
                    start = time.monotonic()
                    r = swaks(pf.smtp_port, "bob@example.com", rcpts, data, timeout=40)
                    with lock:
                        results.append((tag, rcpts, r, start, time.monotonic()))

            def seen(n: int):
                return lambda: len(results) >= n

            threads = [threading.Thread(target=sender, args=(w,)) for w in range(SENDERS)]
            for t in threads:
                t.start()
            try:
                wait_until(seen(BEFORE_KILL), 30, f"{BEFORE_KILL} messages before the kill")
                milter.kill()
                dead_from = time.monotonic()
                wait_until(seen(len(results) + WHILE_DEAD), 30, f"{WHILE_DEAD} messages while the milter is down")
                dead_until = time.monotonic()
                milter.restart()
                up_again = time.monotonic()
            finally:
                for t in threads:
                    t.join(timeout=120)
            total = SENDERS * PER_SENDER
            self.assertEqual(len(results), total)

            # Classify: every message got a decisive reply, 2xx or 4xx, never 5xx.
            accepted = [(tag, rcpts, r) for tag, rcpts, r, _, _ in results if r.accepted]
            tempfailed = [tag for tag, _, r, _, _ in results if r.tempfailed]
            other = [(tag, r.code, r.reply, r.transcript[-800:]) for tag, _, r, _, _ in results
                     if not (r.accepted or r.tempfailed)]
            self.assertEqual(other, [], "replies other than 2xx/4xx")
            self.assertEqual(len(accepted) + len(tempfailed), total)
            # Messages sent wholly while the milter was down were tempfailed:
            # proof that the milter was in the path and Postfix failed closed.
            while_dead = [r for _, _, r, start, end in results if start > dead_from and end < dead_until]
            self.assertTrue(while_dead, "no message was sent while the milter was down")
            self.assertTrue(all(r.tempfailed for r in while_dead),
                            [(r.code, r.reply) for r in while_dead if not r.tempfailed])
            # After the restart, mail flows again.
            after = [r for _, _, r, start, _ in results if start > up_again]
            self.assertTrue(after, "no message was sent after the restart")
            self.assertTrue(all(r.accepted for r in after), [(r.code, r.reply) for r in after if not r.accepted])

            # Every 250 is delivered exactly once per recipient; no 4xx is.
            expected = sum(len(rcpts) for _, rcpts, _ in accepted)
            deliveries = pf.wait_deliveries(expected, timeout=30)
            pf.wait_queue_empty(timeout=30)
            time.sleep(0.5)  # a late extra delivery would show up now
            deliveries = pf.deliveries()
            got = sorted((d.header("X-Test-Seq"), d.recipient) for d in deliveries)
            want = sorted((tag, rcpt) for tag, rcpts, _ in accepted for rcpt in rcpts)
            self.assertEqual(got, want)
            self.assertEqual({d.queue_id for d in deliveries}, {r.queue_id for _, _, r in accepted})
            print(f"\n{len(accepted)} accepted and delivered, {len(tempfailed)} tempfailed, "
                  f"{len(while_dead)} sent while down", file=sys.stderr)


if __name__ == "__main__":
    main()
