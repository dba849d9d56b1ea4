"""A private Postfix with no milters delivers each message, per recipient, to its
route folder with the exact bytes sent plus the headers Postfix adds.

This pins the harness itself: the milter tests rely on what it shows here.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import PostfixInstance, message, swaks  # noqa: E402
from harness.testing import main  # noqa: E402

# Lines SMTP and Postfix must carry through untouched: a leading dot (dot-
# stuffing), trailing blanks, UTF-8, a long line, an empty line, a final line.
BODY = ("first line\n"
        ".a line that starts with a dot\n"
        "..two dots\n"
        "trailing blanks   \n"
        "Grüezi mitenand, ça va? €\n"
        + "x" * 900 + "\n"
        "\n"
        "last line\n")


class PassthroughTest(unittest.TestCase):
    pf: PostfixInstance

    @classmethod
    def setUpClass(cls) -> None:
        cls.pf = PostfixInstance()
        cls.pf.start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.pf.close()

    def send(self, sender: str, recipients: list[str], subject: str, envelope_sender: str | None = None):
        data = message(sender, recipients, subject, BODY)
        result = swaks(self.pf.smtp_port, envelope_sender if envelope_sender is not None else sender,
                       recipients, data)
        self.assertTrue(result.accepted, f"not accepted: {result.code} {result.reply}\n{result.transcript}")
        self.assertIsNotNone(result.queue_id)
        deliveries = [d for d in self.pf.wait_deliveries(len(recipients) + self.delivered_before)
                      if d.queue_id == result.queue_id]
        return data, result.queue_id, deliveries

    def setUp(self) -> None:
        self.delivered_before = len(self.pf.deliveries())

    def tearDown(self) -> None:
        self.pf.wait_queue_empty(timeout=20)

    def assert_delivered_as(self, delivery, data: bytes, queue_id: str, route: str, sender: str,
                            recipient: str, return_path: str) -> None:
        self.assertEqual(delivery.route, route)
        self.assertEqual(os.path.dirname(delivery.path), os.path.join(self.pf.capture_dir, route))
        self.assertEqual(delivery.sender, sender)
        self.assertEqual(delivery.recipient, recipient)
        # What Postfix prepends, in its order: Return-Path (pipe R flag),
        # Delivered-To (D flag), then cleanup's Received header; after that
        # the message exactly as sent.
        m = re.fullmatch(
            rb"Return-Path: (?P<rp>[^\n]*)\n"
            rb"Delivered-To: (?P<dt>[^\n]*)\n"
            rb"Received: from client\.postern\.test \(localhost \[127\.0\.0\.1\]\)\n"
            rb"\tby gateway\.postern\.test \(Postfix\) with ESMTP id (?P<id>[0-9A-F]+)[^\n]*\n"
            rb"(?:\t[^\n]*\n)+"
            rb"(?P<rest>.*)", delivery.data, re.S)
        self.assertIsNotNone(m, f"unexpected header layout:\n{delivery.data[:600]!r}")
        self.assertEqual(m.group("rp").decode(), return_path)
        self.assertEqual(m.group("dt").decode(), recipient)
        self.assertEqual(m.group("id").decode(), queue_id)
        self.assertEqual(m.group("rest"), data)
        self.assertEqual(delivery.body, BODY.encode("utf-8"))

    def test_internal_recipient_lands_in_local(self) -> None:
        data, qid, got = self.send("bob@example.com", ["alice@example.com"], "to the inside")
        self.assertEqual(len(got), 1, got)
        self.assert_delivered_as(got[0], data, qid, "local", "bob@example.com", "alice@example.com",
                                 "<bob@example.com>")

    def test_external_recipient_lands_in_internet(self) -> None:
        data, qid, got = self.send("bob@example.com", ["someone@example.org"], "to the outside")
        self.assertEqual(len(got), 1, got)
        self.assert_delivered_as(got[0], data, qid, "internet", "bob@example.com", "someone@example.org",
                                 "<bob@example.com>")

    def test_each_recipient_gets_its_own_file(self) -> None:
        recipients = ["alice@example.com", "Carol.Smith@example.com", "someone@example.org", "dave@example.net"]
        data, qid, got = self.send("bob@example.com", recipients, "to many")
        self.assertEqual(sorted(d.recipient for d in got), sorted(recipients))
        for d in got:
            route = "local" if d.recipient.endswith("@example.com") else "internet"
            self.assert_delivered_as(d, data, qid, route, "bob@example.com", d.recipient, "<bob@example.com>")
        self.assertEqual(len({d.path for d in got}), len(recipients))

    def test_null_sender_keeps_empty_return_path(self) -> None:
        data, qid, got = self.send("mailer-daemon@example.org", ["alice@example.com"], "a bounce",
                                   envelope_sender="<>")
        self.assertEqual(len(got), 1, got)
        self.assert_delivered_as(got[0], data, qid, "local", "", "alice@example.com", "<>")

    def test_incamail_domain_has_its_own_route(self) -> None:
        # What postern-incamail rewrites recipients to: bob@example.org.incamail.ch.
        data, qid, got = self.send("bob@example.com", ["someone@example.org.incamail.ch"], "<im><c> secret")
        self.assertEqual(len(got), 1, got)
        self.assert_delivered_as(got[0], data, qid, "incamail", "bob@example.com",
                                 "someone@example.org.incamail.ch", "<bob@example.com>")


if __name__ == "__main__":
    main()
