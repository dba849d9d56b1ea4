"""postern-policy end to end, through a real private Postfix.

The gateway runs postern-policy (and postern-incamail when it is built) in
smtpd_milters, and the re-injection listener of postfix-examples/master.cf
with only postern-incamail on it. Mail to partner.example leaves by SMTP to a
second Postfix (the outside world) through smtp_header_checks from
postfix-examples/postern_header_checks. Every X-Postern-Plan delivered is
checked here with an HMAC computed independently of the C++ sealer.
"""

import base64
import hashlib
import hmac
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import MilterSpec, PostfixInstance, Route, message, swaks, wait_until  # noqa: E402
from harness.milter import example_config  # noqa: E402
from harness.testing import BIN_DIR, SOURCE_DIR, main  # noqa: E402

POLICY = os.path.join(BIN_DIR, "postern-policy")
INCAMAIL = os.path.join(BIN_DIR, "postern-incamail")
SECRET = b"e2e-plan-secret-0123456789abcdef-0123456789abcdef"
HEADER_CHECKS = os.path.join(SOURCE_DIR, "postfix-examples", "postern_header_checks")

RULES = """
direction:
  internal_networks: [127.0.0.0/8]
rules:
  - name: bounce-nobody
    when: {recipient: nobody@example.com}
    actions:
      - reject: No such person here
  - name: drop-trash
    when: {recipient: trash@example.com}
    actions: [discard]
  - name: redirect-old
    when: {recipient: old@example.com}
    actions:
      - redirect: new@example.com
  - name: hold-review
    when: {subject_contains: "[hold]"}
    actions:
      - hold: held for review
  - name: edit-headers
    when: {subject_contains: "[headers]"}
    actions:
      - add_header: {name: X-Scanned, value: postern}
      - remove_header: X-Mailer
      - subject_tag: "[checked]"
  - name: notify
    when: {subject_contains: "[notify]"}
    actions:
      - acknowledge: "We got your message ${subject}."
      - alert: {to: admin@example.com, text: "Rule ${rule} matched mail from ${sender}."}
  - name: partner-smime
    when: {recipient: "@partner.example"}
    actions:
      - encrypt: smime
  - name: sign-for-frank
    when: {recipient: frank@example.com}
    actions: [sign]
  - name: personal-via-incamail
    when: {recipient: "@confidential.example"}
    actions:
      - incamail: p
"""


def verify_plan(value: str) -> dict[str, list[str]]:
    """The fields of a sealed X-Postern-Plan value; fails on a bad MAC."""
    compact = re.sub(r"\s+", "", value)
    version, payload, mac = compact.split(".")
    if version != "1":
        raise AssertionError(f"plan version {version}")
    digest = hmac.new(SECRET, f"X-Postern-Plan:1.{payload}".encode(), hashlib.sha256).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if not hmac.compare_digest(mac, expected):
        raise AssertionError("plan MAC does not verify")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("ascii")
    fields: dict[str, list[str]] = {}
    for line in raw.splitlines():
        key, _, val = line.partition("=")
        fields.setdefault(key, []).append(urllib.parse.unquote(val))
    return fields


@unittest.skipUnless(os.access(POLICY, os.X_OK), f"no milter binary at {POLICY}")
class PolicyE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory(prefix="postern-policy-e2e-")
        cls.addClassCleanup(cls.tmp.cleanup)
        rules = os.path.join(cls.tmp.name, "policy-rules.yaml")
        with open(rules, "w", encoding="utf-8") as f:
            f.write(RULES)
        key = os.path.join(cls.tmp.name, "plan.key")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(SECRET)

        # The outside world: takes whatever the gateway relays to it.
        cls.outside = PostfixInstance(routes=(Route("inbox"),), hostname="outside.postern.test")
        cls.outside.start()
        cls.addClassCleanup(cls.outside.close)

        milters = [MilterSpec(binary=POLICY)]
        reinject: tuple[str, ...] = ()
        if os.access(INCAMAIL, os.X_OK):
            # With the plan secret, postern-incamail carries out `incamail:` rules.
            milters.append(MilterSpec(binary=INCAMAIL, config_path=example_config(SOURCE_DIR, "incamail"),
                                      settings={"plan.secret_file": key}))
            reinject = ("incamail",)
        routes = (Route("local", ("example.com",)), Route("partner", ("partner.example",),
                                                           relay=f"[127.0.0.1]:{cls.outside.smtp_port}"),
                  Route("internet"))
        cls.gw = PostfixInstance(milters=milters, routes=routes, reinject_milters=reinject,
                                 main_cf={"smtp_header_checks": f"regexp:{HEADER_CHECKS}"})
        policy = cls.gw.milter("policy").spec
        policy.settings.update({
            "policy.rules": rules,
            "plan.secret_file": key,
            "reinjection.port": str(cls.gw.reinject_port),
            "notifications.sender": "postmaster@gateway.postern.test",
            "notifications.hostname": "gateway.postern.test",
        })
        cls.gw.start()
        cls.addClassCleanup(cls.gw.close)

    # ------------------------------------------------------------- helpers

    def send(self, recipients, subject, *, to=None, headers=None, sender="alice@example.com", body="Hello\n"):
        mid = f"{self.id().rsplit('.', 1)[-1]}.{time.time_ns()}@client.postern.test"
        data = message(sender, to or recipients, subject, body, headers=headers, message_id=mid)
        return swaks(self.gw.smtp_port, sender, recipients, data), mid

    def deliveries_of(self, mid, count, instance=None):
        instance = instance or self.gw
        return wait_until(lambda: (found := [d for d in instance.deliveries() if d.header("Message-ID") == f"<{mid}>"])
                          and len(found) >= count and found, 30, f"{count} deliveries of {mid}")

    def notices_about(self, subject_part, count):
        def found():
            got = [d for d in self.gw.deliveries() if d.sender == "" and subject_part in (d.header("Subject") or "")]
            return got if len(got) >= count else None
        return wait_until(found, 30, f"{count} notices about {subject_part!r}")

    def policy_log(self) -> str:
        with open(self.gw.milter("policy").log_file, encoding="utf-8", errors="replace") as f:
            return f.read()

    def assert_plan(self, delivery, recipients):
        plans = delivery.headers("X-Postern-Plan")
        self.assertEqual(len(plans), 1, f"exactly one plan on {delivery.path}")
        fields = verify_plan(plans[0])
        self.assertEqual(sorted(fields["r"]), sorted(f"<{r}>" for r in recipients))
        return fields

    # --------------------------------------------------------------- tests

    def test_reject_some_recipients_sends_a_non_delivery_notice(self) -> None:
        r, mid = self.send(["bob@example.com", "nobody@example.com"], "Bounce test")
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        [bob] = self.deliveries_of(mid, 1)
        self.assertEqual(bob.recipient, "bob@example.com")
        [ndn] = self.notices_about("Undelivered Mail Returned to Sender", 1)
        self.assertEqual(ndn.recipient, "alice@example.com")
        self.assertEqual(ndn.header("Auto-Submitted"), "auto-replied")
        self.assertIn("multipart/report", ndn.header("Content-Type"))
        self.assertIn(b"Final-Recipient: rfc822; nobody@example.com", ndn.body)
        self.assertIn(b"No such person here", ndn.body)
        self.assertNotIn(b"Hello", ndn.body.split(b"Subject:")[0], "never the original body")
        self.gw.wait_queue_empty()
        self.assertEqual([d for d in self.gw.deliveries() if d.recipient == "nobody@example.com"], [])

    def test_reject_all_recipients_is_a_5xx(self) -> None:
        r, _ = self.send(["nobody@example.com"], "Reject test")
        self.assertTrue(r.rejected, f"{r.code} {r.reply}")
        self.assertEqual(r.code, 550)
        self.assertIn("5.7.1 No such person here", r.reply)

    def test_discard(self) -> None:
        r, mid = self.send(["trash@example.com"], "Discard test")
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        self.gw.wait_queue_empty()
        time.sleep(1)
        self.assertEqual([d for d in self.gw.deliveries() if d.header("Message-ID") == f"<{mid}>"], [])
        self.assertRegex(self.gw.maillog_text(), r"milter triggers DISCARD action")

    def test_redirect(self) -> None:
        r, mid = self.send(["old@example.com"], "Redirect test")
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        [d] = self.deliveries_of(mid, 1)
        self.assertEqual(d.recipient, "new@example.com")
        self.assert_plan(d, ["new@example.com"])

    def test_hold_puts_the_message_in_the_hold_queue(self) -> None:
        r, _ = self.send(["bob@example.com"], "[hold] please review")
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        self.addCleanup(delete_queued, self.gw, r.queue_id)
        held = wait_until(lambda: [q for q in self.gw.queue() if q.get("queue_id") == r.queue_id
                                   and q.get("queue_name") == "hold"], 30, "the message in the hold queue")
        self.assertEqual(len(held), 1)
        self.assertIn(f"{r.queue_id}: postern-policy: held", self.policy_log())
        self.assertRegex(self.gw.maillog_text(), rf"{r.queue_id}: milter-hold: END-OF-MESSAGE .*milter triggers HOLD")
        time.sleep(1)
        self.assertEqual([d for d in self.gw.deliveries() if d.queue_id == r.queue_id], [], "held mail stays")

    def test_header_changes_and_subject_tag(self) -> None:
        r, mid = self.send(["bob@example.com"], "[headers] Hello", headers=[("X-Mailer", "Outlook 16")])
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        [d] = self.deliveries_of(mid, 1)
        self.assertEqual(d.header("Subject"), "[checked] [headers] Hello")
        self.assertEqual(d.header("X-Scanned"), "postern")
        self.assertIsNone(d.header("X-Mailer"))
        fields = self.assert_plan(d, ["bob@example.com"])
        self.assertNotIn("g", fields, "done header edits are not left in the plan")

    def test_acknowledgement_and_alert_are_delivered(self) -> None:
        r, mid = self.send(["bob@example.com"], "[notify] Offer")
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        self.deliveries_of(mid, 1)
        [ack] = self.notices_about("Your message: [notify] Offer", 1)
        [alert] = self.notices_about("Policy alert: notify", 1)
        self.assertEqual(ack.recipient, "alice@example.com")
        self.assertEqual(alert.recipient, "admin@example.com")
        for notice in (ack, alert):
            self.assertEqual(notice.header("Auto-Submitted"), "auto-generated")
            self.assertEqual(notice.header("From"), "<postmaster@gateway.postern.test>")
            self.assertIsNotNone(notice.header("Date"))
            self.assertRegex(notice.header("Message-ID"), r"^<[0-9a-f]{32}@gateway\.postern\.test>$")
            self.assertIsNone(notice.header("X-Postern-Plan"))
        self.assertIn(b"We got your message [notify] Offer.", ack.body)
        self.assertIn(b"Rule notify matched mail from alice@example.com.", alert.body)

    def test_two_plans_are_delivered_as_two_copies_each_with_its_plan(self) -> None:
        r, mid = self.send(["bob@example.com", "frank@example.com"], "Two plans")
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        by_rcpt = {d.recipient: d for d in self.deliveries_of(mid, 2)}
        self.assertEqual(set(by_rcpt), {"bob@example.com", "frank@example.com"})
        bob, frank = by_rcpt["bob@example.com"], by_rcpt["frank@example.com"]
        self.assertNotEqual(bob.queue_id, frank.queue_id)
        self.assertNotIn("s", self.assert_plan(bob, ["bob@example.com"]))
        self.assertEqual(self.assert_plan(frank, ["frank@example.com"])["s"], ["1"])
        # Both are the same message otherwise.
        self.assertEqual(bob.body, frank.body)
        self.assertEqual(bob.header("Subject"), frank.header("Subject"))
        # The kept group stayed in the original transaction; the other came
        # back through the re-injection listener.
        self.assertIn(r.queue_id, (bob.queue_id, frank.queue_id))
        self.assertRegex(self.gw.maillog_text(), r"postfix/postern-reinject/smtpd\[\d+\]")

    def test_incamail_rule_routes_via_incamail(self) -> None:
        if not os.access(INCAMAIL, os.X_OK):
            self.skipTest("postern-incamail is not built")
        # An outside-looking sender: the signed plan, not the client, is trusted.
        r, mid = self.send(["carl@confidential.example", "bob@example.com"], "Offer",
                           sender="eve@elsewhere.example")
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        by_rcpt = {d.recipient: d for d in self.deliveries_of(mid, 2)}
        self.assertEqual(set(by_rcpt), {"carl@confidential.example.incamail.ch", "bob@example.com"})
        carl = by_rcpt["carl@confidential.example.incamail.ch"]
        self.assertEqual(carl.header("Subject").strip(), "<im><p> Offer")
        # postern-incamail took its part out of the plan and sealed the rest again.
        fields = self.assert_plan(carl, ["carl@confidential.example"])
        self.assertNotIn("i", fields)
        self.assertEqual(by_rcpt["bob@example.com"].header("Subject").strip(), "Offer")
        with open(self.gw.milter("incamail").log_file, encoding="utf-8", errors="replace") as f:
            self.assertRegex(f.read(), r"planned from=<eve@elsewhere.example> type=personal plan_type=personal "
                                       r"rewritten=<carl@confidential.example.incamail.ch>")

    def test_partner_copy_leaves_by_smtp(self) -> None:
        r, mid = self.send(["bob@example.com", "carol@partner.example"], "Two plans, one outside")
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        [local] = self.deliveries_of(mid, 1)
        [remote] = self.deliveries_of(mid, 1, self.outside)
        self.assertEqual(local.recipient, "bob@example.com")
        self.assertEqual(remote.recipient, "carol@partner.example")
        self.assertNotEqual(local.queue_id, remote.queue_id)
        local_plan = self.assert_plan(local, ["bob@example.com"])
        self.assertNotIn("e", local_plan)
        # The copy left by SMTP: smtp_header_checks dropped its plan on the way
        # out; the gateway's log shows it was re-submitted with one.
        self.assertEqual([h for h in re.findall(rb"(?im)^x-postern-[a-z-]*:", remote.header_block)], [])
        self.assertRegex(self.policy_log(), rf"{r.queue_id}: postern-policy: resubmitted from=<alice@example.com> "
                                            r"to=<carol@partner.example> reply=\"250 2\.0\.0 Ok: queued as ")
        self.assertRegex(self.gw.maillog_text(), r"postfix/postern-reinject/smtpd\[\d+\]")

    def test_copy_carries_its_own_plan(self) -> None:
        # Like the two-plans case, but both copies stay here so the copy's
        # plan can be read: the second recipient is Bcc (not in To/Cc).
        r, mid = self.send(["bob@example.com", "dave@example.com"], "Bcc test", to=["bob@example.com"])
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        copies = self.deliveries_of(mid, 2)
        by_rcpt = {d.recipient: d for d in copies}
        self.assertEqual(set(by_rcpt), {"bob@example.com", "dave@example.com"})
        self.assertNotEqual(by_rcpt["bob@example.com"].queue_id, by_rcpt["dave@example.com"].queue_id)
        self.assert_plan(by_rcpt["bob@example.com"], ["bob@example.com"])
        self.assert_plan(by_rcpt["dave@example.com"], ["dave@example.com"])
        self.assertNotIn(b"dave", by_rcpt["bob@example.com"].header_block)

    def test_forged_plan_from_outside_is_stripped(self) -> None:
        forged = "1.dD0xCm49MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDEKcj08Ym9iQGV4YW1wbGUuY29tPgo.AAAA"
        r, mid = self.send(["bob@example.com"], "Forged", headers=[("X-Postern-Plan", forged),
                                                                   ("X-Postern-Other", "x")])
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        [d] = self.deliveries_of(mid, 1)
        self.assert_plan(d, ["bob@example.com"])
        self.assertNotIn(forged.encode(), d.header_block)
        self.assertIsNone(d.header("X-Postern-Other"))
        self.assertIn(f"{r.queue_id}: postern-policy: stripped count=2", self.policy_log())

    def test_reload_with_broken_rules_keeps_the_old_ones(self) -> None:
        milter = self.gw.milter("policy")
        rules = milter.spec.settings["policy.rules"]
        with open(rules, encoding="utf-8") as f:
            good = f.read()
        self.addCleanup(write_text, rules, good)
        write_text(rules, good + "  - name: broken\n    actions: [no_such_action]\n")
        os.kill(milter.pid, signal.SIGUSR1)
        wait_until(lambda: "reload-failed" in self.policy_log(), 15, "the failed reload in the log")
        self.assertTrue(milter.running())
        r, _ = self.send(["nobody@example.com"], "Still rejected")
        self.assertEqual(r.code, 550, "the old rules still apply")

    def test_outbound_smtp_drops_internal_headers(self) -> None:
        r, mid = self.send(["erin@partner.example"], "Outbound", headers=[("X-Postern-Note", "internal")])
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        [d] = self.deliveries_of(mid, 1, self.outside)
        self.assertEqual(re.findall(rb"(?im)^x-postern-[a-z-]*:", d.header_block), [])


class PolicyExamplesTest(unittest.TestCase):
    """postfix-examples/policy/ is read by Postfix without a warning and agrees
    with the packaged config and with the listener the test above runs."""

    def postconf(self, directory: str, *args: str) -> str:
        proc = subprocess.run(["postconf", "-c", directory, *args], capture_output=True, text=True, timeout=30)
        self.assertEqual((proc.returncode, proc.stderr), (0, ""), f"postconf {args}")
        return proc.stdout

    def test_snippets(self) -> None:
        examples = os.path.join(SOURCE_DIR, "postfix-examples", "policy")
        with tempfile.TemporaryDirectory(prefix="postern-policy-examples-") as d:
            for name in ("main.cf", "master.cf"):
                with open(os.path.join(examples, name), encoding="utf-8") as src:
                    write_text(os.path.join(d, name), src.read())
            main_cf = self.postconf(d, "-n")
            params = self.postconf(d, "-P")
        self.assertRegex(main_cf, r"smtpd_milters = \{ unix:postern/policy\.sock, default_action=tempfail")
        self.assertNotIn("policy.sock", main_cf.split("postern_reinject_milters =")[1].splitlines()[0])
        service = "127.0.0.1:10030/inet"
        self.assertIn(f"{service}/smtpd_milters = $postern_reinject_milters", params)
        self.assertIn(f"{service}/receive_override_options = no_unknown_recipient_checks,no_header_body_checks",
                      params)
        self.assertIn(f"{service}/smtpd_authorized_xforward_hosts = 127.0.0.0/8", params)
        with open(os.path.join(SOURCE_DIR, "packaging", "config", "policy.yaml"), encoding="utf-8") as f:
            packaged = f.read()
        self.assertRegex(packaged, r"(?m)^  socket: unix:/var/spool/postfix/postern/policy\.sock$")
        self.assertRegex(packaged, r"(?m)^  port: 10030$")


def write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def delete_queued(instance: PostfixInstance, queue_id: str) -> None:
    """Removes a held test message, so later tests see an empty queue."""
    subprocess.run(["postsuper", "-c", instance.config_dir, "-d", queue_id], capture_output=True, timeout=30,
                   check=True)


if __name__ == "__main__":
    main()
