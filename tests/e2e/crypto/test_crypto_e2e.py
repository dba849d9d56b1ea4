"""postern-crypto end to end, through a real private Postfix.

The gateway runs postern-policy and postern-crypto in smtpd_milters (and
postern-crypto on the re-injection listener). Policy rules: mail from here to
partner.example is signed and encrypted with S/MIME (fallback bounce), to
vault.example encrypted (fallback hold); mail from outside to example.com is
decrypted and verified. The key store is
filled with `posternctl keys import` from certificates made by openssl, and
what leaves is judged by `openssl cms`.
"""

import email
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import MilterSpec, PostfixInstance, Route, message, swaks, wait_until  # noqa: E402
from harness.smime_pki import SmimePki as Pki, openssl  # noqa: E402
from harness.testing import BIN_DIR, SOURCE_DIR, main  # noqa: E402

POLICY = os.path.join(BIN_DIR, "postern-policy")
CRYPTO = os.path.join(BIN_DIR, "postern-crypto")
POSTERNCTL = os.path.join(BIN_DIR, "posternctl")
SECRET = b"e2e-crypto-plan-secret-0123456789abcdef-0123456789"

RULES = """
direction:
  internal_networks: [127.0.0.0/8]
rules:
  - name: partner-smime
    when: {direction: outbound, recipient: "@partner.example"}
    actions:
      - encrypt: {method: smime, fallback: bounce}
      - sign
  - name: vault-smime-or-hold
    when: {direction: outbound, recipient: "@vault.example"}
    actions:
      - encrypt: {method: smime, fallback: hold}
  - name: inbound-smime
    when: {direction: inbound, recipient: "@example.com"}
    actions:
      - decrypt
      - verify
      - security_tag: {decrypted: "[decrypted]", signed: "[signed]", invalid: "[signature not valid]"}
"""

OUTSIDE_CLIENT = ("--xclient-addr", "198.51.100.7", "--xclient-name", "[UNAVAILABLE]")


def posternctl(*args: str) -> str:
    proc = subprocess.run([POSTERNCTL, *args], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"posternctl {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


@unittest.skipUnless(all(os.access(p, os.X_OK) for p in (POLICY, CRYPTO, POSTERNCTL)),
                     f"postern-policy, postern-crypto and posternctl must be built in {BIN_DIR}")
class CryptoE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory(prefix="postern-crypto-e2e-")
        cls.addClassCleanup(cls.tmp.cleanup)
        tmp = cls.tmp.name
        rules = os.path.join(tmp, "policy-rules.yaml")
        with open(rules, "w", encoding="utf-8") as f:
            f.write(RULES)
        key = os.path.join(tmp, "plan.key")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(SECRET)

        # The store: our user alice (certificate and key), the partner carol
        # (certificate only), the root as trust anchor. dave (outside) is not
        # in it: he signs the inbound mail and is harvested.
        os.makedirs(os.path.join(tmp, "pki"))
        cls.pki = Pki(os.path.join(tmp, "pki"))
        cls.alice = cls.pki.user("alice", "alice@example.com")
        cls.carol = cls.pki.user("carol", "carol@partner.example")
        cls.dave = cls.pki.user("dave", "dave@partner.example")
        cls.store = os.path.join(tmp, "store")
        posternctl("keys", "import", "--store", cls.store, "--anchor", cls.pki.root + ".pem")
        posternctl("keys", "import", "--store", cls.store, cls.pki.bundle(cls.alice))
        posternctl("keys", "import", "--store", cls.store, cls.carol + ".pem")

        cls.outside = PostfixInstance(routes=(Route("inbox"),), hostname="outside.postern.test")
        cls.outside.start()
        cls.addClassCleanup(cls.outside.close)

        milters = [MilterSpec(binary=POLICY), MilterSpec(binary=CRYPTO)]
        routes = (Route("local", ("example.com",)),
                  Route("partner", ("partner.example", "vault.example"),
                        relay=f"[127.0.0.1]:{cls.outside.smtp_port}"),
                  Route("internet"))
        cls.gw = PostfixInstance(milters=milters, routes=routes, reinject_milters=("crypto",))
        cls.gw.milter("policy").spec.settings.update({
            "policy.rules": rules,
            "plan.secret_file": key,
            "reinjection.port": str(cls.gw.reinject_port),
        })
        cls.gw.milter("crypto").spec.settings.update({
            "plan.secret_file": key,
            "keystore.root": cls.store,
        })
        cls.gw.start()
        cls.addClassCleanup(cls.gw.close)

    # ------------------------------------------------------------- helpers

    def send(self, recipients, subject, *, sender="alice@example.com", body="Hello\n", data=None, extra=()):
        mid = f"{self.id().rsplit('.', 1)[-1]}.{time.time_ns()}@client.postern.test"
        if data is None:
            data = message(sender, recipients, subject, body, message_id=mid)
        return swaks(self.gw.smtp_port, sender, recipients, data, extra_args=extra), mid

    def deliveries_of(self, mid, instance):
        return wait_until(lambda: [d for d in instance.deliveries() if d.header("Message-ID") == f"<{mid}>"],
                          30, f"a delivery of {mid}")

    def crypto_log(self) -> str:
        with open(self.gw.milter("crypto").log_file, encoding="utf-8", errors="replace") as f:
            return f.read()

    def write(self, name: str, data: bytes) -> str:
        path = os.path.join(self.tmp.name, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    # --------------------------------------------------------------- tests

    def test_outbound_is_signed_and_encrypted_and_openssl_opens_it(self) -> None:
        secret_text = "The secret offer is 42 francs."
        r, mid = self.send(["carol@partner.example"], "Offer", body=secret_text + "\n")
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        [d] = self.deliveries_of(mid, self.outside)
        self.assertEqual(d.recipient, "carol@partner.example")
        self.assertIn("application/pkcs7-mime", d.header("Content-Type"))
        self.assertIn("enveloped-data", d.header("Content-Type"))
        self.assertNotIn(secret_text.encode(), d.data, "never the plaintext")
        self.assertEqual(d.header("Subject"), "Offer")
        self.assertEqual(re.findall(rb"(?im)^x-postern-plan:", d.header_block), [])
        delivered = self.write("outbound.eml", d.data)
        signed = openssl("cms", "-decrypt", "-in", delivered, "-recip", self.carol + ".pem",
                         "-inkey", self.carol + ".key")
        self.assertIn(b"multipart/signed", signed)
        content = openssl("cms", "-verify", "-CAfile", self.pki.root + ".pem", data=signed)
        self.assertIn(secret_text.encode(), content)
        self.assertRegex(self.crypto_log(), rf"{r.queue_id}: postern-crypto: encrypted from=<alice@example.com> "
                                            r"signed=alice@example.com recipients=carol@partner.example")

    def test_reinjected_copy_is_encrypted_and_the_local_copy_is_not(self) -> None:
        secret_text = "Split between two plans."
        r, mid = self.send(["bob@example.com", "carol@partner.example"], "Split", body=secret_text + "\n")
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        [local] = self.deliveries_of(mid, self.gw)
        [remote] = self.deliveries_of(mid, self.outside)
        self.assertEqual(local.recipient, "bob@example.com")
        self.assertIn(secret_text.encode(), local.body)
        self.assertEqual(local.headers("X-Postern-Plan"), [], "crypto removes every plan it verified")
        self.assertEqual(remote.recipient, "carol@partner.example")
        self.assertNotIn(secret_text.encode(), remote.data)
        self.assertIn("application/pkcs7-mime", remote.header("Content-Type"))
        # The encrypted copy came through the re-injection listener.
        self.assertRegex(self.gw.maillog_text(), r"postfix/postern-reinject/smtpd\[\d+\]")
        signed = openssl("cms", "-decrypt", "-in", self.write("split.eml", remote.data),
                         "-recip", self.carol + ".pem", "-inkey", self.carol + ".key")
        self.assertIn(secret_text.encode(), openssl("cms", "-verify", "-CAfile", self.pki.root + ".pem",
                                                    data=signed))

    def test_missing_certificate_bounces(self) -> None:
        r, mid = self.send(["nocert@partner.example"], "No certificate")
        self.assertTrue(r.rejected, f"{r.code} {r.reply}")
        self.assertEqual(r.code, 550)
        self.assertIn("5.7.1", r.reply)
        self.assertIn("nocert@partner.example", r.reply)
        time.sleep(1)
        self.assertEqual([d for d in self.outside.deliveries() if d.header("Message-ID") == f"<{mid}>"], [])

    def test_missing_certificate_with_fallback_hold_is_held_not_delivered(self) -> None:
        secret_text = "Held, never sent in clear."
        r, mid = self.send(["nocert@vault.example"], "Hold me", body=secret_text + "\n")
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        self.addCleanup(subprocess.run, ["postsuper", "-c", self.gw.config_dir, "-d", r.queue_id],
                        capture_output=True, timeout=30)
        held = wait_until(lambda: [q for q in self.gw.queue() if q.get("queue_id") == r.queue_id
                                   and q.get("queue_name") == "hold"], 30, "the message in the hold queue")
        self.assertEqual(len(held), 1)
        self.assertEqual([x.get("address") for x in held[0].get("recipients", [])], ["nocert@vault.example"])
        # The queue file sits in the private instance's hold directory.
        self.assertTrue(os.path.exists(os.path.join(self.gw.queue_dir, "hold", r.queue_id)),
                        os.listdir(os.path.join(self.gw.queue_dir, "hold")))
        self.assertRegex(self.crypto_log(),
                         rf"{r.queue_id}: postern-crypto: held from=<alice@example.com> encrypt=smime "
                         r"missing=nocert@vault.example why=\S")
        # Postfix logs that a milter held it, not the milter's reason.
        self.assertRegex(self.gw.maillog_text(),
                         rf"{r.queue_id}: milter-hold: END-OF-MESSAGE .*milter triggers HOLD action; "
                         r"from=<alice@example.com> to=<nocert@vault.example>")
        time.sleep(1)
        for instance in (self.outside, self.gw):
            self.assertEqual([d for d in instance.deliveries() if d.header("Message-ID") == f"<{mid}>"], [])
            self.assertFalse(any(secret_text.encode() in d.data for d in instance.deliveries()))
        # Releasing it (postsuper -H) would deliver it in clear: the operator
        # documentation says so next to the fallback.
        with open(os.path.join(SOURCE_DIR, "docs", "crypto.md"),
                  encoding="utf-8") as f:
            doc = " ".join(f.read().split())
        self.assertIn("Releasing it (`postsuper -H`) delivers it as it is, in clear", doc)

    def test_inbound_is_decrypted_verified_and_the_signer_harvested(self) -> None:
        content = self.write("inbound-content.txt",
                             b"Content-Type: text/plain; charset=us-ascii\r\n\r\nThe contract is attached.\r\n")
        signed = openssl("cms", "-sign", "-in", content, "-signer", self.dave + ".pem", "-inkey",
                         self.dave + ".key", "-md", "sha256")
        mid = f"inbound.{time.time_ns()}@partner.example"
        encrypted = openssl("cms", "-encrypt", "-aes256", "-from", "dave@partner.example",
                            "-to", "alice@example.com", "-subject", "Contract", self.alice + ".pem", data=signed)
        data = f"Message-ID: <{mid}>\r\n".encode() + encrypted
        r, _ = self.send(["alice@example.com"], "Contract", sender="dave@partner.example", data=data,
                         extra=OUTSIDE_CLIENT)
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        [d] = self.deliveries_of(mid, self.gw)
        self.assertEqual(d.recipient, "alice@example.com")
        self.assertIn(b"The contract is attached.", d.body)
        self.assertEqual(d.header("X-Postern-Security"),
                         "encryption=decrypted; signature=valid; signer=dave@partner.example; from-match=yes")
        # Decrypted, but the signature stays for the reader's client: openssl
        # verifies what was delivered.
        self.assertIn("multipart/signed", d.header("Content-Type"))
        verified = openssl("cms", "-verify", "-CAfile", self.pki.root + ".pem",
                           data=d.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        self.assertIn(b"The contract is attached.", verified)
        self.assertEqual(d.header("Subject"), "[decrypted] [signed] Contract")
        results = [v for v in d.headers("Authentication-Results") if "smime=" in v]
        self.assertEqual(len(results), 1, d.headers("Authentication-Results"))
        self.assertRegex(results[0], r"smime=pass body\.smime-identifier=dave@partner\.example body\.smime-serial=")
        self.assertRegex(self.crypto_log(), rf"{r.queue_id}: postern-crypto: opened .*harvested=1")
        self.assertIn("dave@partner.example", posternctl("keys", "show", "--store", self.store,
                                                         "dave@partner.example"))

    def test_send_keys_from_inside_attaches_the_certificates_and_leaves_the_subject(self) -> None:
        r, mid = self.send(["bob@example.com"], "{send_keys} hello")
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        [d] = self.deliveries_of(mid, self.gw)
        self.assertEqual(d.header("Subject"), "hello")
        self.assertIn("multipart/mixed", d.header("Content-Type"))
        parsed = email.message_from_bytes(d.data)
        p7c = [part for part in parsed.walk() if part.get_filename() == "smime.p7c"]
        self.assertEqual(len(p7c), 1, d.data.decode(errors="replace"))
        self.assertEqual(p7c[0].get_content_type(), "application/pkcs7-mime")
        self.assertEqual(p7c[0].get_param("smime-type"), "certs-only")
        self.assertIn(b"Hello", d.body)
        der = self.write("send-keys.p7c", p7c[0].get_payload(decode=True))
        certs = openssl("pkcs7", "-inform", "DER", "-in", der, "-print_certs", "-noout").decode()
        self.assertEqual(certs.count("subject="), 2, certs)  # alice and the root that issued her
        self.assertIn("alice@example.com", openssl("pkcs7", "-inform", "DER", "-in", der, "-print_certs",
                                                   "-text", "-noout").decode())
        self.assertRegex(self.crypto_log(), rf"{r.queue_id}: postern-crypto: keys_attached "
                                            r"from=<alice@example.com> sender=alice@example.com")

    def test_send_keys_from_outside_is_ignored(self) -> None:
        r, mid = self.send(["bob@example.com"], "{send_keys} hello", extra=OUTSIDE_CLIENT)
        self.assertTrue(r.accepted, f"{r.code} {r.reply}")
        [d] = self.deliveries_of(mid, self.gw)
        self.assertEqual(d.header("Subject"), "{send_keys} hello")
        self.assertNotIn(b"smime.p7c", d.data)
        self.assertNotIn(b"certs-only", d.data)
        with open(self.gw.milter("policy").log_file, encoding="utf-8", errors="replace") as f:
            self.assertRegex(f.read(), rf"{r.queue_id}: postern-policy: subject_command .*action=ignored "
                                       r"reason=\"?inbound message")

    def test_stopped_crypto_milter_tempfails_and_nothing_leaves_in_clear(self) -> None:
        crypto = self.gw.milter("crypto")
        crypto.stop()
        self.addCleanup(crypto.start)
        secret_text = "Never in clear."
        r, mid = self.send(["carol@partner.example"], "Milter down", body=secret_text + "\n")
        self.assertTrue(r.tempfailed, f"{r.code} {r.reply}")
        self.gw.wait_queue_empty()
        time.sleep(1)
        self.assertEqual([d for d in self.outside.deliveries() if d.header("Message-ID") == f"<{mid}>"], [])
        self.assertFalse(any(secret_text.encode() in d.data for d in self.outside.deliveries()))


if __name__ == "__main__":
    main()
