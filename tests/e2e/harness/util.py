"""Small process, port and waiting helpers shared by the harness modules.

Everything here talks to loopback only.
"""

from __future__ import annotations

import os
import pty
import select
import socket
import subprocess
import time
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")


class HarnessError(RuntimeError):
    """A setup step failed; the message says which and quotes the tool's output."""


def free_port() -> int:
    """A loopback TCP port that nobody listens on right now.

    The kernel picks it, so parallel tests get different ports; the small race
    until the port is bound by its user is accepted.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_ports() -> set[int]:
    """TCP ports in LISTEN state on this host (from /proc, no connection made).

    Probing a milter by connecting to it would make it log a broken
    conversation, so readiness is read from the kernel instead.
    """
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":  # TCP_LISTEN
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except FileNotFoundError:
            continue
    return ports


def listening_unix_sockets() -> set[str]:
    """Paths of UNIX-domain stream sockets in LISTEN state (from /proc)."""
    paths: set[str] = set()
    try:
        with open("/proc/net/unix", encoding="utf-8", errors="replace") as f:
            next(f)
            for line in f:
                fields = line.split()
                # Num RefCount Protocol Flags Type St Inode Path; flag
                # 00010000 is __SO_ACCEPTCON (listening).
                if len(fields) >= 8 and int(fields[3], 16) & 0x10000:
                    paths.add(fields[7])
    except FileNotFoundError:
        pass
    return paths


def smtp_banner(port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> str | None:
    """The server's greeting if it answers 220 on host:port, else None."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            greeting = s.makefile("rb").readline().decode("utf-8", "replace").rstrip("\r\n")
            try:
                s.sendall(b"QUIT\r\n")
            except OSError:
                pass
    except OSError:
        return None
    return greeting if greeting.startswith("220") else None


def wait_until(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Polls predicate until it returns something truthy, which is returned.

    Raises TimeoutError naming `what` so a failing test says what it waited for.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def run_with_tty(argv: Sequence[str], timeout: float = 60.0) -> tuple[int, str]:
    """Runs a Postfix administration command and returns (exit status, output).

    postfix(1) and postsuper(1) print their diagnostics only when stderr is a
    terminal (otherwise they go to syslog, which a container does not have), so
    stdout and stderr are a pseudo-terminal here.
    """
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                                close_fds=True)
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                proc.kill()
                raise HarnessError(f"{' '.join(argv)}: no exit after {timeout:g}s")
            ready, _, _ = select.select([master], [], [], min(remaining, 0.5))
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    data = b""
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        status = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
    return status, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def process_alive(pid: int, executable: str | None = None) -> bool:
    """True if pid runs (not a zombie) and, when given, was started as `executable`.

    Checking the command line keeps a recycled pid from being mistaken for a
    process recorded earlier in a state file. The path is looked for among the
    arguments, not as /proc/PID/exe, so a script's interpreter does not hide it.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
        if executable is not None:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            return os.fsencode(executable) in args[:2]
    except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
        return False
    return True


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM (peak resident set size, KiB) of a running process."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None
