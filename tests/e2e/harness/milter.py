"""Postern milter processes for a private Postfix: config, start, kill, restart.

A milter runs in the foreground (`-f -c CONFIG`) with stderr in a log file, on
a loopback port the harness chooses and writes into the config's
`milter.socket` (set_key edits the block-style YAML of the example configs in
place, so their comments and layout stay as they are). Readiness is the port
in LISTEN state, read from /proc, so the milter never sees a probe connection.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import time

from .util import HarnessError, listening_ports, listening_unix_sockets, peak_rss_kib, process_alive, wait_until

# Order in smtpd_milters (ARCHITECTURE.md): each sees the header and body
# changes of the ones before it.
CHAIN_ORDER = ("spf", "policy", "incamail", "crypto")
_BINARY = re.compile(r"^postern-([a-z][a-z0-9]*)$")
# Where UNIX-socket milters listen, under Postfix's queue directory (as
# packaging/config and postfix-examples/main.cf have it).
SOCKET_SUBDIR = "postern"
# The longest path a UNIX-domain socket can be bound to (sun_path, less its NUL).
UNIX_PATH_MAX = 107
_KEY_LINE = re.compile(r"^( *)([A-Za-z0-9_-]+)[ \t]*:(?:[ \t]+(.*?))?[ \t]*$")


@dataclasses.dataclass
class MilterSpec:
    """A milter to put in the chain.

    config_path: a YAML config to start from (e.g. an example from the source
    tree); config_text: the YAML itself; neither: only the `milter` section.
    settings: dotted key -> YAML value set on top (set_key). The harness
    always sets milter.socket: inet:PORT@127.0.0.1, or with transport="unix"
    unix:QUEUE_DIR/postern/NAME.sock (Postfix gets unix:postern/NAME.sock).
    """

    binary: str
    config_path: str | None = None
    config_text: str | None = None
    settings: dict[str, str] = dataclasses.field(default_factory=dict)
    port: int | None = None
    # "inet": a loopback TCP port (the default); "unix": a UNIX-domain
    # socket in the instance's milters/ directory, as the packaged configs
    # use (cheaper for Postfix than TCP).
    transport: str = "inet"
    # Postfix's side of the conversation (smtpd_milters per-milter settings).
    connect_timeout: str = "10s"
    command_timeout: str = "30s"
    content_timeout: str = "60s"

    @property
    def name(self) -> str:
        """The short name: postern-incamail -> incamail."""
        base = os.path.basename(self.binary)
        m = _BINARY.match(base)
        return m.group(1) if m else base

    def base_config(self) -> str:
        if self.config_path is not None and self.config_text is not None:
            raise HarnessError(f"{self.name}: give config_path or config_text, not both")
        if self.config_path is not None:
            with open(self.config_path, encoding="utf-8") as f:
                return f.read()
        return self.config_text or ""


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def set_key(config: str, path: str, value: str) -> str:
    """The YAML text with the key at dotted `path` set to `value` (YAML text).

    Works on block-style mappings, line by line: the key's line is replaced
    (with any block below it: a list, a nested mapping), a missing key or
    section is added at the end of its parent; every other line is kept byte
    for byte. A flow-style parent ({...} or [...]) is refused, not guessed at.
    """
    lines = config.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    parts = path.split(".")
    start, end, parent_indent = 0, len(lines), -1
    for depth, part in enumerate(parts):
        child_indent = next((_indent(l) for l in lines[start:end] if _is_content(l)), None)
        found = None
        if child_indent is not None and child_indent > parent_indent:
            for i in range(start, end):
                m = _KEY_LINE.match(lines[i].rstrip("\n"))
                if m and len(m.group(1)) == child_indent and m.group(2) == part:
                    found = i
                    break
        else:
            child_indent = parent_indent + 2 if parent_indent >= 0 else 0
        if found is None:
            pad = " " * child_indent
            new = [f"{pad}{'  ' * k}{p}:\n" for k, p in enumerate(parts[depth:-1])]
            new.append(f"{pad}{'  ' * (len(parts) - depth - 1)}{parts[-1]}: {value}\n")
            insert_at = end
            while insert_at > start and not _is_content(lines[insert_at - 1]):
                insert_at -= 1  # before the blank lines and comments that precede the next section
            return "".join(lines[:insert_at] + new + lines[insert_at:])
        block_end = found + 1
        for i in range(found + 1, end):
            ind = _indent(lines[i]) if _is_content(lines[i]) else None
            # A block sequence may sit at its key's own indentation.
            if ind is not None and (ind < child_indent or (ind == child_indent
                                                           and not lines[i].lstrip().startswith("-"))):
                break
            block_end = i + 1
        while block_end > found + 1 and not _is_content(lines[block_end - 1]):
            block_end -= 1
        if depth == len(parts) - 1:
            line = f"{' ' * child_indent}{part}: {value}\n"
            return "".join(lines[:found] + [line] + lines[block_end:])
        inline = _KEY_LINE.match(lines[found].rstrip("\n")).group(3)
        if inline and not inline.startswith("#"):
            raise HarnessError(f"cannot set {path}: {'.'.join(parts[:depth + 1])} is written in flow style")
        start, end, parent_indent = found + 1, block_end, child_indent
    raise AssertionError("unreachable")


def example_config(source_dir: str, name: str) -> str | None:
    """The example config shipped for postern-<name> (packaging/config/), if any."""
    candidate = os.path.join(source_dir, "packaging", "config", f"{name}.yaml")
    return candidate if os.path.isfile(candidate) else None


def discover_milters(bin_dir: str, source_dir: str, only: list[str] | None = None) -> list[MilterSpec]:
    """The Postern milters (CHAIN_ORDER) built in bin_dir, in chain order.

    Other postern-* programs there (test filters) are not part of the chain.
    `only` restricts the set; naming a milter that is not built is an error.
    """
    found: dict[str, str] = {}
    for name in CHAIN_ORDER:
        path = os.path.join(bin_dir, f"postern-{name}")
        if os.path.isfile(path) and os.access(path, os.X_OK):
            found[name] = path
    if only is not None:
        missing = [n for n in only if n not in found]
        if missing:
            raise HarnessError(f"not built in {bin_dir}: " + ", ".join(f"postern-{n}" for n in missing))
        found = {n: p for n, p in found.items() if n in only}
    return [MilterSpec(binary=path, config_path=example_config(source_dir, name)) for name, path in found.items()]


def socket_path_fits(path: str) -> bool:
    return len(path.encode()) <= UNIX_PATH_MAX


class MilterProcess:
    """One running (or stopped) milter of a Postfix instance."""

    def __init__(self, spec: MilterSpec, config_file: str, log_file: str, queue_dir: str | None = None) -> None:
        """queue_dir: the Postfix instance's queue directory. A UNIX-socket
        milter then listens in its postern/ subdirectory and Postfix is given
        the path relative to it, as the packaged configs do."""
        self.spec = spec
        self.config_file = config_file
        self.queue_dir = queue_dir
        self.log_file = log_file
        self.pid: int | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def port(self) -> int:
        assert self.spec.port is not None, "port is chosen before the config is written"
        return self.spec.port

    @property
    def socket_path(self) -> str | None:
        """The UNIX-domain socket, or None for a TCP milter."""
        if self.spec.transport == "unix":
            if self.queue_dir:
                return os.path.join(self.queue_dir, SOCKET_SUBDIR, f"{self.name}.sock")
            return os.path.join(os.path.dirname(self.config_file), f"{self.name}.sock")
        if self.spec.transport != "inet":
            raise HarnessError(f"{self.name}: transport must be inet or unix, not {self.spec.transport!r}")
        return None

    @property
    def milter_socket(self) -> str:
        """milter.socket in the milter's config."""
        return f"unix:{self.socket_path}" if self.socket_path else f"inet:{self.port}@127.0.0.1"

    @property
    def postfix_address(self) -> str:
        """The milter's address in smtpd_milters. A socket in the queue
        directory is named relative to it: every Postfix daemon works in the
        queue directory, chrooted or not, so the same line serves both."""
        if self.socket_path and self.queue_dir:
            return f"unix:{os.path.relpath(self.socket_path, self.queue_dir)}"
        return f"unix:{self.socket_path}" if self.socket_path else f"inet:127.0.0.1:{self.port}"

    def listening(self) -> bool:
        if self.socket_path:
            return self.socket_path in listening_unix_sockets()
        return self.port in listening_ports()

    def write_config(self) -> None:
        if self.socket_path and not socket_path_fits(self.socket_path):
            raise HarnessError(f"{self.name}: the socket path {self.socket_path} has {len(self.socket_path.encode())} "
                               f"bytes, more than a UNIX socket takes ({UNIX_PATH_MAX}); choose a shorter base "
                               "directory or transport='inet'")
        text = self.spec.base_config()
        socket = {"milter.socket": f'"{self.milter_socket}"'}
        if self.socket_path:
            # Postfix's processes (user and group postfix) connect to it.
            socket["milter.socket_group"] = "postfix"
        for path, value in {**self.spec.settings, **socket}.items():
            text = set_key(text, path, value)
        with open(self.config_file, "w", encoding="utf-8") as f:
            f.write(text)

    def check_config(self) -> None:
        """Runs the binary's own check (-n); raises with its diagnostics."""
        proc = subprocess.run([self.spec.binary, "-n", "-c", self.config_file], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise HarnessError(f"{self.name}: {self.config_file} does not check out "
                               f"(exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")

    def start(self, timeout: float = 15.0) -> None:
        if self.running():
            raise HarnessError(f"{self.name} already runs as pid {self.pid}")
        if self.listening():
            raise HarnessError(f"{self.name}: {self.milter_socket} is already in use")
        with open(self.log_file, "ab") as log:
            log.write(f"--- harness: starting {self.spec.binary} -f -c {self.config_file}\n".encode())
            log.flush()
            # Own session: a Ctrl-C meant for the harness does not reach the
            # milter directly; the harness stops it in order.
            self._proc = subprocess.Popen([self.spec.binary, "-f", "-c", self.config_file],
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                          start_new_session=True)
        self.pid = self._proc.pid

        def ready() -> bool:
            if self._proc is not None and self._proc.poll() is not None:
                raise HarnessError(f"{self.name} exited with status {self._proc.returncode} while starting; "
                                   f"log {self.log_file}:\n{self.log_tail()}")
            return self.listening()

        try:
            wait_until(ready, timeout, f"{self.name} to listen on {self.milter_socket}")
        except TimeoutError as e:
            self.kill()
            raise HarnessError(f"{e}; log {self.log_file}:\n{self.log_tail()}") from None

    def running(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return self.pid is not None and process_alive(self.pid, self.spec.binary)

    def kill(self) -> None:
        """kill -9: the crash case. Waits until the process is gone."""
        self._signal(signal.SIGKILL, 5.0)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM (libmilter's orderly stop), SIGKILL after `grace` seconds."""
        if not self._signal(signal.SIGTERM, grace):
            self._signal(signal.SIGKILL, 5.0)

    def restart(self, timeout: float = 15.0) -> None:
        if self.running():
            self.stop()
        self.start(timeout)

    def peak_rss_kib(self) -> int | None:
        return peak_rss_kib(self.pid) if self.pid is not None and self.running() else None

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_file, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except FileNotFoundError:
            return ""

    def _signal(self, sig: int, wait: float) -> bool:
        """Sends sig if the milter runs; True once it is gone within `wait`."""
        if not self.running():
            return True
        assert self.pid is not None
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            return True
        if self._proc is not None:
            try:
                self._proc.wait(timeout=wait)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not process_alive(self.pid):
                return True
            time.sleep(0.05)
        return False
