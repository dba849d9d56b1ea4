"""postern-incamail end to end: a real gateway Postfix set up from
postfix-examples/incamail/, a simulated IncaMail platform (a second Postfix
demanding and verifying the client certificate), real TLS both ways, and
posternctl incamail check-connection against that platform.
"""

import json
import os
import re
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))

from harness import MilterSpec, message, swaks, wait_until  # noqa: E402
from harness.milter import example_config  # noqa: E402
from harness.testing import BIN_DIR, SOURCE_DIR, main  # noqa: E402
from incamail_platform import (CA_NAME, INCAMAIL_CLIENT_NAME, PLATFORM_NAME, GatewayInstance,  # noqa: E402
                               PlatformInstance, TestPki, read_main_cf, EXAMPLES)

MILTER = os.path.join(BIN_DIR, "postern-incamail")
POSTERNCTL = os.path.join(BIN_DIR, "posternctl")


def milter_spec() -> MilterSpec:
    """The packaged configuration, with the test's internal side and IncaMail names."""
    return MilterSpec(binary=MILTER, config_path=example_config(SOURCE_DIR, "incamail"), settings={
        "internal.domains": "[example.com]",
        # Every test client is 127.0.0.1: internal is the ORIGINATING listener only.
        "internal.networks": "[]",
        "internal.listeners": "[ORIGINATING]",
        "inbound.cert_subjects": f"['{INCAMAIL_CLIENT_NAME}']",
        "inbound.cert_issuers": f"['{CA_NAME}']",
    })


def by_message_id(deliveries, message_id: str):
    return [d for d in deliveries if d.header("Message-ID") == f"<{message_id}>"]


class Gateway(unittest.TestCase):
    """Shared set-up: the PKI, and a unique Message-ID per message."""

    pki: TestPki
    tmp: tempfile.TemporaryDirectory

    @classmethod
    def make_pki(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory(prefix="postern-incamail-pki-")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.pki = TestPki(cls.tmp.name)

    def message_id(self) -> str:
        return f"{self.id().rsplit('.', 1)[-1]}.{time.time_ns()}@client.postern.test"


@unittest.skipUnless(os.access(MILTER, os.X_OK), f"no milter binary at {MILTER}")
class OutboundTest(Gateway):
    @classmethod
    def setUpClass(cls) -> None:
        cls.make_pki()
        cls.platform = PlatformInstance(cls.pki)
        cls.platform.start()
        cls.addClassCleanup(cls.platform.close)
        cls.gw = GatewayInstance(cls.pki, cls.platform.smtp_port, milters=[milter_spec()])
        cls.gw.start()
        cls.addClassCleanup(cls.gw.close)

    def platform_delivery(self, mid: str) -> list:
        return wait_until(lambda: by_message_id(self.platform.deliveries("platform"), mid), 30,
                          f"the platform to receive {mid}")

    def send(self, port: int, recipients: list[str], subject: str, sender: str = "alice@example.com"):
        mid = self.message_id()
        data = message(sender, recipients, subject, "Guten Tag\n", message_id=mid)
        r = swaks(port, sender, recipients, data)
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        return r, mid

    def test_tagged_mail_goes_to_platform_and_internal_copy_stays(self) -> None:
        r, mid = self.send(self.gw.internal_port, ["bob@partner.example", "carol@example.com"], "<im><c> Offerte")
        [remote] = self.platform_delivery(mid)
        self.gw.wait_queue_empty()
        [local] = [d for d in self.gw.deliveries("local") if d.queue_id == r.queue_id]
        self.assertEqual([d for d in self.gw.deliveries("internet") if d.queue_id == r.queue_id], [])

        # The external copy: recipient rewritten, tag kept, over verified mutual TLS.
        self.assertEqual(remote.recipient, "bob@partner.example.incamail.ch")
        self.assertEqual(remote.sender, "alice@example.com")
        self.assertEqual(remote.header("Subject"), "<im><c> Offerte")
        self.assertEqual(remote.body, b"Guten Tag\n")
        received = " ".join(remote.headers("Received"))
        self.assertIn('Client CN "gateway.postern.test"', received)
        self.assertIn(f'Issuer "{CA_NAME}" (verified OK)', received)
        self.assertIsNone(remote.header("X-Postern-IncaMail"))
        # The internal copy: delivered locally, unchanged.
        self.assertEqual(local.recipient, "carol@example.com")
        self.assertEqual(local.header("Subject"), "<im><c> Offerte")
        self.assertEqual(local.body, b"Guten Tag\n")
        self.assertEqual(local.header("To"), "<bob@partner.example>, <carol@example.com>")

        maillog = self.gw.maillog_text()
        self.assertRegex(maillog, r"postfix/incamail/smtp\[\d+\]: Verified TLS connection established to "
                                  rf"127\.0\.0\.1\[127\.0\.0\.1\]:{self.platform.smtp_port}")
        with open(self.gw.milter("incamail").log_file, encoding="utf-8") as f:
            self.assertIn(f"{r.queue_id}: postern-incamail: rewritten from=<alice@example.com> type=confidential "
                          "rewritten=<bob@partner.example.incamail.ch> routed=1 internal=1", f.read())

    def test_untagged_mail_to_incamail_address_gets_the_tag(self) -> None:
        r, mid = self.send(self.gw.internal_port, ["bob@partner.example.incamail.ch"], "Offerte")
        [remote] = self.platform_delivery(mid)
        self.assertEqual(remote.recipient, "bob@partner.example.incamail.ch")
        self.assertIn(b"\nSubject: <im><c> Offerte\n", remote.header_block)

    def test_untagged_internal_mail_is_not_rerouted(self) -> None:
        r, mid = self.send(self.gw.internal_port, ["bob@partner.example"], "Offerte")
        self.gw.wait_queue_empty()
        [d] = [d for d in self.gw.deliveries("internet") if d.queue_id == r.queue_id]
        self.assertEqual(d.recipient, "bob@partner.example")
        self.assertEqual(by_message_id(self.platform.deliveries(), mid), [])

    def test_external_sender_is_never_rewritten(self) -> None:
        for subject in ("Offerte", "<im><c> Offerte"):
            with self.subTest(subject=subject):
                r, mid = self.send(self.gw.smtp_port, ["bob@partner.example"], subject, sender="eve@outside.example")
                self.gw.wait_queue_empty()
                [d] = [d for d in self.gw.deliveries("internet") if d.queue_id == r.queue_id]
                self.assertEqual(d.recipient, "bob@partner.example")
                self.assertEqual(d.header("Subject"), subject)
                self.assertEqual(by_message_id(self.platform.deliveries(), mid), [])

    def test_unknown_tag_is_refused_before_queueing(self) -> None:
        mid = self.message_id()
        data = message("alice@example.com", ["bob@partner.example"], "<im><x> Offerte", "x\n", message_id=mid)
        r = swaks(self.gw.internal_port, "alice@example.com", ["bob@partner.example"], data)
        self.assertEqual(r.code, 550, r.transcript)
        self.assertIn("5.7.1 IncaMail: unknown tag <im><x>; use <im><c>, <im><p> or <im><r>", r.reply)

    # --- posternctl incamail check-connection against the platform ---

    def check(self, *extra: str) -> subprocess.CompletedProcess:
        if not os.access(POSTERNCTL, os.X_OK):
            self.skipTest(f"no posternctl at {POSTERNCTL}")
        argv = [POSTERNCTL, "incamail", "check-connection", f"127.0.0.1:{self.platform.smtp_port}",
                "--match", PLATFORM_NAME, "--timeout", "10", *extra]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60)

    def test_check_connection_ok(self) -> None:
        p = self.check("--ca", self.pki.ca.pem, "--sha1", self.pki.platform.fingerprint("sha1"),
                       "--sha256", self.pki.platform.fingerprint("sha256"),
                       "--cert", self.pki.gateway.pem, "--key", self.pki.gateway.key)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for line in ("OK   starttls: offered", "OK   organisation: O=Post CH AG",
                     f"OK   chain: verified against {self.pki.ca.pem}", f"OK   name: valid for {PLATFORM_NAME}",
                     "OK   sha1 pin: matches", "OK   sha256 pin: matches", "RESULT: OK"):
            self.assertIn(line + "\n", p.stdout)
        self.assertIn(f"  [0] subject: CN={PLATFORM_NAME},O=Post CH AG", p.stdout)
        self.assertIn(f"      sha1:    {self.pki.platform.fingerprint('sha1')}", p.stdout)
        self.assertRegex(p.stdout, r"OK   client certificate: sent and accepted \(EHLO over TLS: 250 ")

    def test_check_connection_without_client_certificate_skips_that_check(self) -> None:
        p = self.check("--ca", self.pki.ca.pem)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("SKIP client certificate: the server asks for one; give --cert and --key to test mutual TLS\n",
                      p.stdout)

    def test_check_connection_wrong_ca(self) -> None:
        p = self.check("--ca", self.pki.rogue_ca.pem)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        # The platform also sends its CA, which the rogue CA file does not know.
        self.assertIn(f"FAIL chain: not verified against {self.pki.rogue_ca.pem}: self-signed certificate in "
                      "certificate chain\n", p.stdout)
        self.assertIn("RESULT: FAIL (1 check failed)\n", p.stdout)

    def test_check_connection_wrong_fingerprint(self) -> None:
        p = self.check("--ca", self.pki.ca.pem, "--sha1", "00" * 20,
                       "--sha256", self.pki.platform.fingerprint("sha256"))
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(f"FAIL sha1 pin: the certificate has {self.pki.platform.fingerprint('sha1')}\n", p.stdout)
        self.assertIn("OK   sha256 pin: matches\n", p.stdout)

    def test_check_connection_wrong_organisation(self) -> None:
        p = self.check("--ca", self.pki.ca.pem, "--org", "Other AG")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("FAIL organisation: expected O=Other AG, the certificate has O=Post CH AG\n", p.stdout)


@unittest.skipUnless(os.access(MILTER, os.X_OK), f"no milter binary at {MILTER}")
class NoClientCertificateTest(Gateway):
    """The incamail transport without the client certificate: the platform
    refuses, and the mail waits in the queue; never in clear, never elsewhere."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.make_pki()
        cls.platform = PlatformInstance(cls.pki)
        cls.platform.start()
        cls.addClassCleanup(cls.platform.close)
        cls.gw = GatewayInstance(cls.pki, cls.platform.smtp_port, client_cert=False, milters=[milter_spec()])
        cls.gw.start()
        cls.addClassCleanup(cls.gw.close)

    def test_mail_stays_deferred(self) -> None:
        mid = self.message_id()
        data = message("alice@example.com", ["bob@partner.example"], "<im><r> Vertrag", "x\n", message_id=mid)
        r = swaks(self.gw.internal_port, "alice@example.com", ["bob@partner.example"], data)
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")

        # With the harness's short retry timers a deferred message moves back
        # to the active queue every few seconds: "deferred" here means still
        # queued, with the reason of a failed delivery attempt.
        def deferred():
            for entry in self.gw.queue():
                if entry["queue_id"] == r.queue_id and any(rc.get("delay_reason") for rc in entry["recipients"]):
                    return entry
            return None

        def queued():
            return any(entry["queue_id"] == r.queue_id for entry in self.gw.queue())

        entry = wait_until(deferred, 30, "the message to be deferred")
        [rcpt] = entry["recipients"]
        self.assertEqual(rcpt["address"], "bob@partner.example.incamail.ch")
        self.assertRegex(rcpt["delay_reason"], r"(?i)tls|certificate|handshake|lost connection")
        # Postfix retries every few seconds here: it must keep failing the same way.
        self.gw.flush()
        time.sleep(4)
        self.assertTrue(queued(), "the message left the queue")
        self.assertEqual(self.platform.deliveries(), [])
        self.assertEqual(by_message_id(self.gw.deliveries(), mid), [])
        self.assertNotIn("status=sent", "\n".join(l for l in self.gw.maillog_text().splitlines() if r.queue_id in l))


@unittest.skipUnless(os.access(MILTER, os.X_OK), f"no milter binary at {MILTER}")
class InboundTest(Gateway):
    """Mail from IncaMail is recognised by its verified client certificate only."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.make_pki()
        # Inbound needs no platform; the incamail transport points nowhere.
        cls.gw = GatewayInstance(cls.pki, 9, milters=[milter_spec()])
        cls.gw.start()
        cls.addClassCleanup(cls.gw.close)

    def deliver(self, cert, forged: bool = True):
        """Sends an IncaMail-looking message over STARTTLS, with `cert` as the client certificate."""
        mid = self.message_id()
        extra = [("X-Postern-IncaMail", "verified; type=registered")] if forged else []
        data = message("noreply@im.post.ch", ["carol@example.com"], "<im><c> Ihre Nachricht (Secured by IncaMail)",
                       "Hallo\n", headers=extra, message_id=mid).replace(b"\n", b"\r\n")
        ctx = ssl.create_default_context(cafile=self.pki.ca.pem)
        ctx.check_hostname = False  # the gateway is 127.0.0.1; its certificate names gateway.postern.test
        if cert is not None:
            ctx.load_cert_chain(cert.pem, cert.key)
        with smtplib.SMTP("127.0.0.1", self.gw.smtp_port, local_hostname="mail.incamail.test", timeout=30) as s:
            s.starttls(context=ctx)
            s.ehlo("mail.incamail.test")
            s.mail("noreply@im.post.ch")
            s.rcpt("carol@example.com")
            code, reply = s.data(data)
        self.assertEqual(code, 250, reply)
        queue_id = re.search(rb"queued as (\w+)", reply).group(1).decode()
        self.gw.wait_queue_empty()
        [d] = [d for d in self.gw.deliveries("local") if d.queue_id == queue_id]
        return d

    def test_verified_certificate_gets_the_header(self) -> None:
        d = self.deliver(self.pki.incamail_client)
        self.assertEqual(d.headers("X-Postern-IncaMail"), ["verified; type=confidential"])
        # One space after the colon: the milter writes values as Postfix expects with SMFIP_HDR_LEADSPC.
        self.assertIn(b"\nX-Postern-IncaMail: verified; type=confidential\n", d.header_block)
        self.assertEqual(d.header("Subject"), "<im><c> Ihre Nachricht (Secured by IncaMail)")

    def test_without_certificate_the_subject_says_unverified(self) -> None:
        d = self.deliver(None)
        self.assertEqual(d.headers("X-Postern-IncaMail"), [])
        self.assertIn(b"\nSubject: [IncaMail unverified] <im><c> Ihre Nachricht (Secured by IncaMail)\n",
                      d.header_block)

    def test_certificate_of_another_ca_is_not_verified(self) -> None:
        d = self.deliver(self.pki.rogue_client)
        self.assertEqual(d.headers("X-Postern-IncaMail"), [])
        self.assertEqual(d.header("Subject"), "[IncaMail unverified] <im><c> Ihre Nachricht (Secured by IncaMail)")

    def test_forged_header_never_survives(self) -> None:
        mid = self.message_id()
        data = message("eve@outside.example", ["carol@example.com"], "Hallo", "x\n",
                       headers=[("X-Postern-IncaMail", "verified; type=confidential")], message_id=mid)
        r = swaks(self.gw.smtp_port, "eve@outside.example", ["carol@example.com"], data)
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        self.gw.wait_queue_empty()
        [d] = [d for d in self.gw.deliveries("local") if d.queue_id == r.queue_id]
        self.assertEqual(d.headers("X-Postern-IncaMail"), [])
        self.assertEqual(d.header("Subject"), "Hallo")


@unittest.skipUnless(os.access(MILTER, os.X_OK), f"no milter binary at {MILTER}")
class DemoHookTest(Gateway):
    """What ci/demo-incamail.sh does to the demo gateway: a harness gateway with
    its default routes gets the platform attached, through the module's CLI."""

    PLATFORM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "incamail_platform.py")

    def cli(self, *args: str) -> str:
        proc = subprocess.run([sys.executable, self.PLATFORM, *args], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "POSTERN_SOURCE_DIR": SOURCE_DIR})
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return proc.stdout

    def test_demo_gateway_sends_tagged_mail_to_the_platform(self) -> None:
        from harness import PostfixInstance
        spec = MilterSpec(binary=MILTER, config_path=example_config(SOURCE_DIR, "incamail"),
                          settings={"internal.domains": "[example.com]"})
        with PostfixInstance(milters=[spec]) as gw:
            platform_base = os.path.join(gw.base, "incamail-platform")
            info = json.loads(self.cli("start", "--base", platform_base, "--deliver-dir", gw.capture_dir,
                                       "--gateway-base", gw.base))
            try:
                self.assertEqual(info["delivered"], os.path.join(gw.capture_dir, "incamail"))
                mid = self.message_id()
                data = message("bob@example.com", ["someone@example.org"], "<im><c> demo", "hello\n", message_id=mid)
                r = swaks(gw.smtp_port, "bob@example.com", ["someone@example.org"], data)
                self.assertTrue(r.accepted, f"{r.code} {r.reply}")
                [d] = wait_until(lambda: by_message_id(gw.deliveries("incamail"), mid), 30,
                                 "the platform's delivery")
                self.assertEqual(d.recipient, "someone@example.org.incamail.ch")
                # Delivered by the platform (its own queue id), reached over verified mutual TLS.
                self.assertNotEqual(d.queue_id, r.queue_id)
                self.assertIn('Client CN "gateway.postern.test"', " ".join(d.headers("Received")))
            finally:
                # Before the gateway's directory, which holds the platform's, goes away.
                self.cli("stop", "--base", platform_base)


class ExamplesTest(unittest.TestCase):
    """What the tests above take from postfix-examples/incamail/ is what the issue asks for."""

    def test_milter_entry_fails_closed(self) -> None:
        cf = read_main_cf(os.path.join(EXAMPLES, "main.cf"))
        self.assertIn("unix:postern/incamail.sock", cf["smtpd_milters"])
        self.assertIn("default_action=tempfail", cf["smtpd_milters"])
        self.assertEqual(cf["smtpd_tls_ask_ccert"], "yes")

    def test_postfix_reads_the_examples(self) -> None:
        with tempfile.TemporaryDirectory(prefix="postern-incamail-examples-") as d:
            for name in ("main.cf", "master.cf"):
                with open(os.path.join(EXAMPLES, name), encoding="utf-8") as src, \
                        open(os.path.join(d, name), "w", encoding="utf-8") as dst:
                    dst.write(src.read())
            for args in (["-n"], ["-M"], ["-P"]):
                proc = subprocess.run(["postconf", "-c", d, *args], capture_output=True, text=True, timeout=30)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(proc.stderr, "", args)
            services = subprocess.run(["postconf", "-c", d, "-P"], capture_output=True, text=True,
                                      timeout=30).stdout
            self.assertIn("incamail/unix/smtp_tls_security_level = secure", services)
            self.assertIn("incamail/unix/smtp_fallback_relay =", services)
            self.assertIn("incamail/unix/smtp_tls_cert_file = /etc/postfix/incamail/client-cert.pem", services)


if __name__ == "__main__":
    main()
