"""SMTP peers: swaks for single messages, smtp-source for bulk, smtp-sink as a relay target."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import tempfile
import time

from .util import HarnessError, free_port, listening_ports, wait_until

# A reply line in swaks' transcript: "<-  250 ..." (ok), "<** 451 ..." (error);
# "<~ " and "<~* " are the same inside TLS.
_REPLY = re.compile(r"^<(?:-|~|\*\*|~\*)\s+(\d{3})([ -])(.*)$")
_QUEUED = re.compile(r"queued as ([0-9A-Za-z]+)")


@dataclasses.dataclass(frozen=True)
class SmtpResult:
    """The outcome of one swaks transaction.

    code is the reply that decided the message: the reply to the end of DATA
    if the client got that far, else the first 4xx/5xx reply (banner, MAIL,
    RCPT, DATA), else None (no decisive reply: connection lost or refused).
    """

    code: int | None
    reply: str
    queue_id: str | None
    exit_status: int
    transcript: str

    @property
    def accepted(self) -> bool:
        return self.code is not None and 200 <= self.code < 300

    @property
    def tempfailed(self) -> bool:
        return self.code is not None and 400 <= self.code < 500

    @property
    def rejected(self) -> bool:
        return self.code is not None and self.code >= 500


def parse_swaks(transcript: str, exit_status: int) -> SmtpResult:
    replies: list[tuple[int, str]] = []
    text: list[str] = []
    for line in transcript.splitlines():
        m = _REPLY.match(line)
        if not m:
            continue
        text.append(m.group(3))
        if m.group(2) == " ":  # last line of a (multi-line) reply
            replies.append((int(m.group(1)), "\n".join(text)))
            text = []
    decisive: tuple[int, str] | None = None
    for i, (code, _) in enumerate(replies):
        if code == 354:
            decisive = replies[i + 1] if i + 1 < len(replies) else None
            break
    if decisive is None:
        decisive = next(((c, t) for c, t in replies if c >= 400), None)
    if decisive is None:
        return SmtpResult(None, "", None, exit_status, transcript)
    queued = _QUEUED.search(decisive[1]) if 200 <= decisive[0] < 300 else None
    return SmtpResult(decisive[0], decisive[1], queued.group(1) if queued else None, exit_status, transcript)


def message(sender: str, recipients: list[str], subject: str, body: str,
            headers: list[tuple[str, str]] | None = None, message_id: str | None = None) -> bytes:
    """A small RFC 5322 message with LF line endings (swaks sends CRLF)."""
    lines = [f"From: <{sender}>", f"To: {', '.join(f'<{r}>' for r in recipients)}",
             f"Subject: {subject}", "Date: Mon, 24 Nov 2025 12:00:00 +0100",
             f"Message-ID: <{message_id or f'{time.time_ns()}.{os.getpid()}@client.postern.test'}>",
             "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def swaks(port: int, sender: str, recipients: list[str], data: bytes,
          extra_args: tuple[str, ...] = (), timeout: float = 60.0) -> SmtpResult:
    """Sends one message with swaks to 127.0.0.1:port.

    data is the whole message; swaks turns its line endings into CRLF and does
    the dot-stuffing. Avoid %WORD% tokens in it: swaks expands those. swaks
    ends DATA with CRLF.CRLF after the text, so the message's own final line
    ending is left off here (else the message would grow an empty line).
    """
    if data.endswith(b"\n"):
        data = data[:-2] if data.endswith(b"\r\n") else data[:-1]
    with tempfile.NamedTemporaryFile(prefix="postern-swaks-", suffix=".eml") as f:
        f.write(data)
        f.flush()
        argv = ["swaks", "--server", f"127.0.0.1:{port}", "--helo", "client.postern.test",
                "--from", sender, "--to", ",".join(recipients), "--data", "@" + f.name,
                "--timeout", f"{int(timeout)}s", *extra_args]
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=timeout + 10)
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode("utf-8", "replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            return SmtpResult(None, "", None, -1, out + "\n*** harness: swaks timed out")
    if proc.returncode == 1:  # command-line error: a harness bug, not an SMTP outcome
        raise HarnessError(f"swaks rejected its arguments: {proc.stderr}")
    return parse_swaks(proc.stdout + proc.stderr, proc.returncode)


def smtp_source(port: int, count: int, *, sessions: int = 4, size: int = 10240,
                sender: str = "bench@example.com", recipient: str = "sink@example.org",
                timeout: float = 600.0, reuse_connections: bool = False) -> float:
    """Sends `count` messages of `size` bytes over `sessions` parallel sessions.

    By default every message has its own SMTP connection; reuse_connections
    sends them one after another over each session's connection (-d).

    Returns the wall time in seconds. smtp-source stops at the first reply it
    did not expect, so a non-zero exit (or any complaint) is an error here.
    """
    argv = ["smtp-source", "-s", str(sessions), "-m", str(count), "-l", str(size),
            "-f", sender, "-t", recipient, "-M", "client.postern.test", f"127.0.0.1:{port}"]
    if reuse_connections:
        argv.insert(1, "-d")
    start = time.monotonic()
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    elapsed = time.monotonic() - start
    if proc.returncode != 0 or proc.stderr.strip():
        raise HarnessError(f"{' '.join(argv)} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return elapsed


class SmtpSink:
    """smtp-sink on a free loopback port: accepts and discards everything."""

    def __init__(self, log_file: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log_file = log_file
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> "SmtpSink":
        with open(self.log_file, "ab") as log:
            # -u: smtp-sink refuses to keep root privileges.
            self._proc = subprocess.Popen(["smtp-sink", "-u", "nobody", f"127.0.0.1:{self.port}", "256"],
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                          start_new_session=True)
        try:
            wait_until(lambda: self._proc.poll() is not None or self.port in listening_ports(), 10,
                       f"smtp-sink to listen on port {self.port}")
            if self._proc.poll() is not None:
                raise HarnessError(f"smtp-sink exited with {self._proc.returncode}; see {self.log_file}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
