"""Peak memory of postern-crypto: concurrent large messages signed and encrypted.

Starts the real postern-crypto binary (build/bin) on a free loopback port
with a throw-away key store (signer alice, recipient carol, made with
openssl), then plays the MTA's side of the milter protocol itself: N
concurrent sessions (default 10), each with a message of SIZE MiB (default
25: a text part and a base64 attachment of random bytes) and its own sealed
sign+encrypt plan. All sessions send their whole message, wait for each
other, and then send end-of-message together, so every transform runs at the
same time. Afterwards it reads the process's peak resident set (VmHWM in
/proc/PID/status).

Asserted: every session gets its body replaced by an enveloped-data entity
and a final "continue"; one of them is decrypted by `openssl cms` with
carol's key and verified against the root, and its content is the
attachment that was sent. The peak RSS is compared with the target (400 MiB
for 10 x 25 MB, from the issue); missing it fails the run unless
--report-only.

    python3 tests/bench/crypto_rss_bench.py [--sessions 10] [--size-mib 25] [--max-rss-mib 400]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

from harness import MilterProcess, MilterSpec, free_port, peak_rss_kib  # noqa: E402
from harness.smime_pki import SmimePki, openssl  # noqa: E402
from harness.testing import BIN_DIR, EXIT_SKIPPED  # noqa: E402

CRYPTO = os.path.join(BIN_DIR, "postern-crypto")
POSTERNCTL = os.path.join(BIN_DIR, "posternctl")
SECRET = b"bench-crypto-plan-secret-0123456789abcdef-0123456789"
SENDER = "alice@example.com"
RECIPIENT = "carol@partner.example"
CHUNK = 65535  # Postfix's largest body chunk

# The milter protocol (libmilter's mfdef.h), MTA side.
SMFI_VERSION = 6
ALL_ACTIONS = 0x1FF
ALL_PROTOCOL = 0x1FFFFF
NR = {"C": 0x1000, "H": 0x2000, "M": 0x4000, "R": 0x8000, "T": 0x10000, "L": 0x80, "N": 0x40000, "B": 0x80000}
SKIP_STEP = {"C": 0x1, "H": 0x2, "M": 0x4, "R": 0x8, "B": 0x10, "L": 0x20, "N": 0x40, "T": 0x200}
HDR_LEADSPC = 0x100000
FINAL = {b"c": "continue", b"a": "accept", b"r": "reject", b"t": "tempfail", b"d": "discard", b"y": "reply"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def seal(recipient: str) -> str:
    """A sign+encrypt plan for one recipient, sealed as postern-policy does (common/plan)."""
    payload = (f"t={int(time.time())}\nn={secrets.token_hex(16)}\nr=<{recipient}>\n"
               "e=smime\nf=bounce\ns=1\n").encode()
    text = f"1.{b64url(payload)}"
    mac = hmac.new(SECRET, f"X-Postern-Plan:{text}".encode(), hashlib.sha256).digest()
    return f"{text}.{b64url(mac)}"


def make_message(size: int) -> tuple[list[tuple[str, str]], bytes, bytes]:
    """Header fields, body (CRLF) of about `size` bytes, and the attachment's raw bytes."""
    raw = os.urandom(size * 3 // 4)
    encoded = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    headers = [("From", f"Alice <{SENDER}>"), ("To", RECIPIENT), ("Subject", "bench"),
               ("MIME-Version", "1.0"), ("Content-Type", 'multipart/mixed; boundary="b"')]
    body = (b"--b\r\nContent-Type: text/plain\r\n\r\nThe attachment.\r\n--b\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + encoded + b"--b--\r\n")
    return headers, body, raw


class MilterClient:
    """One MTA-side milter connection (what Postfix's smtpd does)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=600)
        self.send(b"O", struct.pack(">III", SMFI_VERSION, ALL_ACTIONS, ALL_PROTOCOL))
        cmd, data = self.read()
        if cmd != b"O":
            raise AssertionError(f"option negotiation answered {cmd!r}")
        _, self.actions, self.protocol = struct.unpack(">III", data[:12])

    def send(self, cmd: bytes, data: bytes = b"") -> None:
        self.sock.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def read(self) -> tuple[bytes, bytes]:
        size = struct.unpack(">I", self._exact(4))[0]
        packet = self._exact(size)
        return packet[:1], packet[1:]

    def _exact(self, n: int) -> bytes:
        parts, got = [], 0
        while got < n:
            piece = self.sock.recv(min(n - got, 1 << 20))
            if not piece:
                raise AssertionError("the milter closed the connection")
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)

    def step(self, cmd: str, data: bytes = b"") -> str | None:
        """Sends one step unless negotiated away; its reply unless no-reply."""
        if self.protocol & SKIP_STEP.get(cmd, 0):
            return None
        self.send(cmd.encode(), data)
        if self.protocol & NR.get(cmd, 0):
            return None
        while True:
            reply, _ = self.read()
            if reply != b"p":  # progress
                break
        if reply not in (b"c", b"s"):
            raise AssertionError(f"step {cmd} answered {FINAL.get(reply, reply)!r}")
        return reply.decode()

    def macros(self, stage: str, pairs: dict[str, str]) -> None:
        data = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in pairs.items())
        self.send(b"D", stage.encode() + data)

    def close(self) -> None:
        try:
            self.send(b"Q")
        finally:
            self.sock.close()


class Session(threading.Thread):
    def __init__(self, index: int, port: int, headers, body: bytes, barrier: threading.Barrier) -> None:
        super().__init__(name=f"session-{index}")
        self.index, self.port, self.headers, self.body, self.barrier = index, port, headers, body, barrier
        self.final = None
        self.error = None
        self.header_changes: list[tuple[str, str]] = []
        self.new_body = bytearray()
        self.keep_body = index == 1  # the one openssl checks
        self.body_bytes = 0

    def run(self) -> None:
        try:
            self.transaction()
        except Exception as e:  # reported by the main thread
            self.error = f"{type(e).__name__}: {e}"
            self.barrier.abort()

    def transaction(self) -> None:
        c = MilterClient(self.port)
        qid = f"BENCH{self.index:04d}"
        c.macros("C", {"j": "mx.example.com", "{daemon_name}": "smtpd"})
        c.step("C", b"client.example.com\0" + b"4" + struct.pack(">H", 40000) + b"127.0.0.1\0")
        c.step("H", b"client.example.com\0")
        c.macros("M", {"i": qid, "{mail_addr}": SENDER})
        c.step("M", f"<{SENDER}>\0".encode())
        c.macros("R", {"{rcpt_addr}": RECIPIENT})
        c.step("R", f"<{RECIPIENT}>\0".encode())
        c.step("T")
        lead = " " if c.protocol & HDR_LEADSPC else ""
        for name, value in [("X-Postern-Plan", seal(RECIPIENT))] + self.headers:
            c.step("L", name.encode() + b"\0" + (lead + value).encode() + b"\0")
        c.step("N")
        view = memoryview(self.body)
        for at in range(0, len(view), CHUNK):
            if c.step("B", bytes(view[at:at + CHUNK])) == "s":
                break
        self.barrier.wait()
        c.send(b"E")
        while True:
            cmd, data = c.read()
            if cmd == b"b":
                self.body_bytes += len(data)
                if self.keep_body:
                    self.new_body += data
            elif cmd in (b"m", b"h"):
                fields = data[4:].split(b"\0") if cmd == b"m" else data.split(b"\0")
                self.header_changes.append((fields[0].decode(), fields[1].decode()))
            elif cmd in FINAL:
                self.final = FINAL[cmd]
                break
        c.close()


def start_milter(work: str) -> MilterProcess:
    pki = SmimePki(os.path.join(work, "pki"), organisation="Postern Bench")
    alice = pki.user("alice", SENDER)
    carol = pki.user("carol", RECIPIENT)
    store = os.path.join(work, "store")
    for args in (("--anchor", pki.root + ".pem"), (pki.bundle(alice),), (carol + ".pem",)):
        subprocess.run([POSTERNCTL, "keys", "import", "--store", store, *args], check=True, capture_output=True)
    key = os.path.join(work, "plan.key")
    with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
        f.write(SECRET)
    spool = os.path.join(work, "spool")
    os.makedirs(spool, mode=0o700)
    spec = MilterSpec(binary=CRYPTO, settings={"plan.secret_file": key, "keystore.root": store,
                                               "spool.directory": spool, "log.level": "info"})
    spec.port = free_port()
    milter = MilterProcess(spec, os.path.join(work, "crypto.yaml"), os.path.join(work, "crypto.log"))
    milter.write_config()
    milter.check_config()
    milter.start()
    milter.pki = pki  # type: ignore[attr-defined]
    milter.carol = carol  # type: ignore[attr-defined]
    return milter


def vm(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


class RssSampler(threading.Thread):
    """Samples VmRSS, RssAnon and RssFile every 10 ms: what the peak is made of."""

    def __init__(self, pid: int) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.peak = (0, 0, 0)

    def run(self) -> None:
        while not self.stop.wait(0.01):
            try:
                fields = {}
                with open(f"/proc/{self.pid}/status", encoding="ascii") as f:
                    for line in f:
                        name, _, rest = line.partition(":")
                        if name in ("VmRSS", "RssAnon", "RssFile"):
                            fields[name] = int(rest.split()[0])
            except (FileNotFoundError, ProcessLookupError):
                return
            sample = (fields.get("VmRSS", 0), fields.get("RssAnon", 0), fields.get("RssFile", 0))
            if sample[0] > self.peak[0]:
                self.peak = sample


def check_one(milter: MilterProcess, s: Session, raw: bytes, work: str) -> None:
    """openssl decrypts and verifies one result; its attachment is what was sent."""
    content_type = dict((n.lower(), v) for n, v in s.header_changes).get("content-type", "")
    if "enveloped-data" not in content_type:
        raise AssertionError(f"session {s.index}: Content-Type became {content_type!r}")
    path = os.path.join(work, "result.eml")
    with open(path, "wb") as f:
        f.write(b"MIME-Version: 1.0\r\nContent-Type:" + content_type.encode() +
                b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + bytes(s.new_body))
    signed = openssl("cms", "-decrypt", "-in", path, "-recip", milter.carol + ".pem", "-inkey", milter.carol + ".key")
    content = openssl("cms", "-verify", "-CAfile", milter.pki.root + ".pem", data=signed)
    encoded = content.split(b"Content-Transfer-Encoding: base64\r\n\r\n", 1)[-1].split(b"--b--", 1)[0]
    if base64.b64decode(encoded) != raw:
        raise AssertionError(f"session {s.index}: the decrypted attachment differs from what was sent")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--size-mib", type=float, default=25.0)
    parser.add_argument("--max-rss-mib", type=float, default=400.0, help="the target for the peak RSS")
    parser.add_argument("--report-only", action="store_true", help="do not fail when the target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (config, log)")
    args = parser.parse_args()
    missing = [p for p in (CRYPTO, POSTERNCTL) if not os.access(p, os.X_OK)]
    if missing:
        print("SKIPPED: not built: " + ", ".join(missing), file=sys.stderr)
        return 1 if os.environ.get("POSTERN_REQUIRE_ALL") == "1" else EXIT_SKIPPED

    work = tempfile.mkdtemp(prefix="postern-crypto-rss-")
    milter = None
    try:
        milter = start_milter(work)
        headers, body, raw = make_message(int(args.size_mib * (1 << 20)))
        # One small message first: threads, key store and OpenSSL warmed up.
        warm_headers, warm_body, _ = make_message(10 << 10)
        warm = Session(0, milter.port, warm_headers, warm_body, threading.Barrier(1))
        warm.run()
        if warm.error or warm.final != "continue":
            raise AssertionError(f"warm-up message: {warm.error or warm.final}\n{milter.log_tail()}")
        idle_kib = vm(milter.pid, "VmRSS")
        barrier = threading.Barrier(args.sessions)
        sessions = [Session(i + 1, milter.port, headers, body, barrier) for i in range(args.sessions)]
        sampler = RssSampler(milter.pid)
        sampler.start()
        start = time.monotonic()
        for s in sessions:
            s.start()
        for s in sessions:
            s.join()
        elapsed = time.monotonic() - start
        sampler.stop.set()
        sampler.join()
        if not milter.running():
            raise AssertionError(f"postern-crypto died:\n{milter.log_tail()}")
        peak_kib = peak_rss_kib(milter.pid) or 0
        failed = [f"session {s.index}: {s.error or s.final}" for s in sessions if s.error or s.final != "continue"]
        if failed:
            raise AssertionError("; ".join(failed) + "\n" + milter.log_tail())
        check_one(milter, sessions[0], raw, work)
        message_mib = (len(body) + sum(len(n) + len(v) + 4 for n, v in headers)) / (1 << 20)
        met = peak_kib / 1024 <= args.max_rss_mib
        print(f"postern-crypto, {args.sessions} concurrent sign+encrypt of {message_mib:.1f} MiB messages "
              f"(RSA-2048, AES-256-CBC, spool.memory_limit 1M) in {elapsed:.1f} s:")
        print(f"  RSS idle after warm-up {idle_kib / 1024:.1f} MiB; peak (VmHWM) {peak_kib / 1024:.1f} MiB; "
              f"target <= {args.max_rss_mib:.0f} MiB: {'met' if met else 'MISSED'}")
        rss, anon, file = sampler.peak
        print(f"  largest sample (every 10 ms): VmRSS {rss / 1024:.1f} MiB = anonymous {anon / 1024:.1f} + "
              f"file-backed {file / 1024:.1f} (the mapped spool files)")
        print(f"  output per message {sessions[0].body_bytes / (1 << 20):.1f} MiB, decrypted and verified by "
              "openssl cms")
        return 0 if met or args.report_only else 1
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        if milter is not None:
            milter.stop()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
    sys.exit(main())
