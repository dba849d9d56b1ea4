"""postern-spf end to end: a private Postfix with STARTTLS (certificates from a
test CA), postern-spf as its milter asking a real DNS server (nsd) on
loopback, and swaks as the outside client, with and without STARTTLS.

Every test client connects from 127.0.0.1; swaks's XCLIENT gives Postfix (and
so the milter) the outside address the test plays (192.0.2.7 is permitted by
the test zones, 203.0.113.9 is not). Checked: the replies at the client and
the Received-SPF / Authentication-Results headers at delivery, in both modes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))

from harness import MilterSpec, PostfixInstance, Route, message, swaks  # noqa: E402
from harness.milter import example_config  # noqa: E402
from harness.testing import BIN_DIR, SOURCE_DIR, main  # noqa: E402
from harness.pki import TLSMGR, Pki  # noqa: E402
import loopback_dns  # noqa: E402

MILTER = os.path.join(BIN_DIR, "postern-spf")
AUTHSERV = "gateway.postern.test"
PERMITTED = "192.0.2.7"
FOREIGN = "203.0.113.9"

ZONES = {
    "example.test": "\n".join([
        '@ IN TXT "v=spf1 ip4:192.0.2.0/24 -all"',
        'soft IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"',
        'pra IN TXT "spf2.0/pra ip4:198.51.100.0/24 -all"',
        'pra IN TXT "v=spf1 ip4:192.0.2.0/24 -all"',
    ]),
    "postern.test": 'client IN TXT "v=spf1 ip4:192.0.2.0/24 -all"',
}


class GatewayCerts:
    """The gateway's STARTTLS certificates from a test CA: EC, and RSA so a
    client can negotiate TLS 1.2 without forward secrecy (plain RSA key
    exchange), which an EC certificate cannot offer."""

    def __init__(self, directory: str) -> None:
        pki = Pki(directory)
        self.ca = pki.make_ca("ca", "Postern Test CA")
        self.ec = pki.make_leaf("gateway", self.ca, f"/O=Postern Test/CN={AUTHSERV}", AUTHSERV, "serverAuth")
        self.rsa = pki.make_leaf("rsa", self.ca, f"/O=Postern Test/CN={AUTHSERV}", AUTHSERV, "serverAuth",
                                 algorithm="rsa")


class TlsGateway(PostfixInstance):
    """The gateway: STARTTLS offered (RSA and EC certificates), postern-spf."""

    def master_cf(self) -> str:
        return super().master_cf() + TLSMGR + "\n"


def start_gateway(certs: GatewayCerts, dns_port: int, mode: str,
                  extra: dict[str, str] | None = None) -> TlsGateway:
    settings = {
        "spf.mode": mode,
        "spf.authserv_id": AUTHSERV,
        # The harness's clients are 127.0.0.1; XCLIENT sets the outside address.
        "spf.trusted_networks": "[]",
        "dns.servers": f"['127.0.0.1:{dns_port}']",
        "dns.timeout": "1s",
    }
    settings.update(extra or {})
    spec = MilterSpec(binary=MILTER, config_path=example_config(SOURCE_DIR, "spf"), settings=settings)
    gw = TlsGateway(milters=[spec], routes=(Route("local", ("example.com",)), Route("internet")),
                    hostname=AUTHSERV, main_cf={
                        "smtpd_tls_security_level": "may",
                        "smtpd_tls_cert_file": certs.rsa.pem,
                        "smtpd_tls_key_file": certs.rsa.key,
                        "smtpd_tls_eccert_file": certs.ec.pem,
                        "smtpd_tls_eckey_file": certs.ec.key,
                        "smtpd_tls_loglevel": "1",
                        "smtpd_tls_mandatory_protocols": ">=TLSv1.2",
                        "smtpd_tls_protocols": ">=TLSv1.2",
                    })
    return gw.start()


def send(gw: TlsGateway, sender: str, client: str, *, tls: bool = True, tls_args: tuple[str, ...] = (),
         rcpt: str = "bob@example.com", headers: str = "", from_header: str | None = None):
    data = message(from_header or sender, [rcpt], "spf e2e", "hello\n")
    if headers:
        data = headers.encode() + data
    args = ["--xclient-addr", client, "--xclient-name", "[UNAVAILABLE]"]
    if tls:
        args += ["-tls", *tls_args]
    return swaks(gw.smtp_port, sender, [rcpt], data, extra_args=tuple(args))


_shared: dict = {}


def setUpModule() -> None:
    """One test CA, the gateway certificates and one DNS server for every mode."""
    if not os.access(MILTER, os.X_OK):
        raise unittest.SkipTest(f"{MILTER} not built")
    if not loopback_dns.available():
        raise unittest.SkipTest("nsd not installed (apt-get install nsd)")
    tmp = tempfile.TemporaryDirectory(prefix="postern-spf-e2e-")
    _shared.update(tmp=tmp, certs=GatewayCerts(os.path.join(tmp.name, "pki")),
                   dns=loopback_dns.LoopbackDns(ZONES).start())


def tearDownModule() -> None:
    if "dns" in _shared:
        _shared["dns"].stop()
        _shared["tmp"].cleanup()


class Fixture(unittest.TestCase):
    mode = "best_effort"
    extra: dict[str, str] = {}

    @classmethod
    def setUpClass(cls) -> None:
        cls.gw = start_gateway(_shared["certs"], _shared["dns"].port, cls.mode, cls.extra)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.gw.close()

    def delivered(self, count: int):
        return self.gw.wait_deliveries(count, route="local")[count - 1]

    def assertReply(self, result, code: str, text: str) -> None:
        self.assertIn(f"{code} ", result.transcript)
        self.assertIn(text, result.transcript)


class BestEffort(Fixture):
    mode = "best_effort"

    def test_1_pass_over_starttls(self):
        r = send(self.gw, "alice@example.test", PERMITTED)
        self.assertTrue(r.accepted, r.transcript)
        d = self.delivered(1)
        ar = d.header("Authentication-Results")
        self.assertTrue(ar.strip().startswith(f"{AUTHSERV};"), ar)
        self.assertIn("spf=pass smtp.mailfrom=alice@example.test", ar)
        self.assertIn("spf=pass smtp.helo=client.postern.test", ar)
        self.assertIn("senderid=pass header.from=alice@example.test", ar)
        self.assertRegex(ar, r"x-tls=pass policy\.tls-version=TLSv1\.3 policy\.cipher=\S+ policy\.cipher-bits=256")
        rs = d.header("Received-SPF")
        self.assertIn(f"pass ({AUTHSERV}: domain of alice@example.test designates {PERMITTED} as permitted sender)", rs)
        self.assertIn(f"client-ip={PERMITTED};", rs)
        self.assertIn("identity=mailfrom;", rs)

    def test_2_fail_in_cleartext_is_annotated_not_rejected(self):
        r = send(self.gw, "mallory@example.test", FOREIGN, tls=False)
        self.assertTrue(r.accepted, r.transcript)
        ar = self.delivered(2).header("Authentication-Results")
        self.assertIn("spf=fail smtp.mailfrom=mallory@example.test", ar)
        self.assertIn("x-tls=none", ar)
        # One log line for the decision, with Postfix's queue id.
        self.assertRegex(self.gw.milter("spf").log_tail(50),
                         r"(?m)^[0-9A-Za-z]{6,}: postern-spf: checked spf=fail smtp\.mailfrom=<mallory@example\.test> "
                         r"client=\[203\.0\.113\.9\] .* action=continue dsn=-$")

    def test_3_softfail_and_forged_headers_removed(self):
        forged = (f"Authentication-Results: {AUTHSERV}; spf=pass smtp.mailfrom=carol@soft.example.test\n"
                  "Authentication-Results: elsewhere.example; spf=pass\n"
                  "Received-SPF: pass (forged)\n")
        r = send(self.gw, "carol@soft.example.test", FOREIGN, headers=forged)
        self.assertTrue(r.accepted, r.transcript)
        d = self.delivered(3)
        ars = d.headers("Authentication-Results")
        ours = [h for h in ars if h.strip().startswith(AUTHSERV)]
        self.assertEqual(len(ours), 1, ars)
        self.assertIn("spf=softfail smtp.mailfrom=carol@soft.example.test", ours[0])
        self.assertEqual(len([h for h in ars if "elsewhere.example" in h]), 1)
        rs = d.headers("Received-SPF")
        self.assertEqual(len(rs), 1, rs)
        self.assertTrue(rs[0].strip().startswith("softfail"), rs)

    def test_4_senderid_uses_the_pra_record(self):
        r = send(self.gw, "alice@example.test", PERMITTED, from_header="dave@pra.example.test")
        self.assertTrue(r.accepted, r.transcript)
        ar = self.delivered(4).header("Authentication-Results")
        self.assertIn("senderid=fail header.from=dave@pra.example.test", ar)


class SecureMail(Fixture):
    mode = "securemail"

    def test_1_pass_over_starttls_is_delivered(self):
        r = send(self.gw, "alice@example.test", PERMITTED)
        self.assertTrue(r.accepted, r.transcript)
        self.assertIn("spf=pass", self.delivered(1).header("Authentication-Results"))

    def test_2_cleartext_is_refused(self):
        r = send(self.gw, "alice@example.test", PERMITTED, tls=False)
        self.assertTrue(r.rejected, r.transcript)
        self.assertReply(r, "550", "5.7.0 TLS is required: use STARTTLS (SecureMail policy)")

    def test_3_fail_is_refused(self):
        r = send(self.gw, "mallory@example.test", FOREIGN)
        self.assertTrue(r.rejected, r.transcript)
        self.assertReply(r, "550", f"5.7.23 SPF: example.test does not permit {FOREIGN} to send its mail")

    def test_4_softfail_is_delivered(self):
        r = send(self.gw, "carol@soft.example.test", FOREIGN)
        self.assertTrue(r.accepted, r.transcript)
        self.assertIn("spf=softfail", self.delivered(2).header("Authentication-Results"))

    def test_5_no_forward_secrecy_is_refused(self):
        r = send(self.gw, "alice@example.test", PERMITTED,
                 tls_args=("--tls-protocol", "tlsv1_2", "--tls-cipher", "AES256-GCM-SHA384"))
        self.assertTrue(r.rejected, r.transcript)
        self.assertReply(r, "550", "5.7.0 cipher AES256-GCM-SHA384 lacks forward secrecy")

    def test_6_128_bit_cipher_is_refused(self):
        r = send(self.gw, "alice@example.test", PERMITTED,
                 tls_args=("--tls-protocol", "tlsv1_2", "--tls-cipher", "ECDHE-RSA-AES128-GCM-SHA256"))
        self.assertTrue(r.rejected, r.transcript)
        self.assertReply(r, "550", "has 128 bits, below the required 256")


class SecureMailSoftfail(Fixture):
    mode = "securemail"
    extra = {"securemail.reject_softfail": "true"}

    def test_softfail_is_refused_when_asked(self):
        r = send(self.gw, "carol@soft.example.test", FOREIGN)
        self.assertTrue(r.rejected, r.transcript)
        self.assertReply(r, "550", "5.7.23 SPF: soft.example.test does not permit")


if __name__ == "__main__":
    main()
