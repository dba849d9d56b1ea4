"""A real authoritative DNS server (Debian's nsd) on loopback for the SPF tests.

    with LoopbackDns({"example.test": "@ IN TXT \"v=spf1 -all\""}) as dns:
        ... dns.port ...

Writes nsd.conf and the zone files (SOA and NS are added) into a fresh
directory, starts nsd in the foreground on 127.0.0.1 and a free port as root
(username: "" keeps it from changing user), waits until it answers, and stops
the one process it started on exit. Same job as tests/unit/spf/nsd_server.hpp
does for the C++ tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

NSD = "/usr/sbin/nsd"


def available() -> bool:
    return os.access(NSD, os.X_OK)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int, name: str) -> bool:
    """One SOA query over UDP; True on any reply with rcode NOERROR."""
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", 0x1234, 0, 1, 0, 0, 0) + qname + struct.pack(">HH", 6, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(packet, ("127.0.0.1", port))
            reply = s.recv(512)
        except OSError:
            return False
    return len(reply) >= 4 and reply[:2] == b"\x12\x34" and (reply[3] & 0x0F) == 0


class LoopbackDns:
    def __init__(self, zones: dict[str, str]) -> None:
        self.zones = zones
        self.port = _free_udp_port()
        self.dir = tempfile.mkdtemp(prefix="postern-nsd-")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "LoopbackDns":
        conf = [
            "server:",
            f"  ip-address: 127.0.0.1@{self.port}",
            f"  port: {self.port}",
            '  username: ""',
            '  chroot: ""',
            f'  zonesdir: "{self.dir}"',
            f'  pidfile: "{self.dir}/nsd.pid"',
            '  database: ""',
            f'  zonelistfile: "{self.dir}/zone.list"',
            f'  xfrdfile: "{self.dir}/xfrd.state"',
            f'  xfrdir: "{self.dir}"',
            f'  logfile: "{self.dir}/nsd.log"',
            "  server-count: 1",
            "  verbosity: 0",
            # No response rate limiting: tests and the benchmark ask fast.
            "  rrl-ratelimit: 0",
            "remote-control:",
            "  control-enable: no",
        ]
        for name, text in self.zones.items():
            conf += ["zone:", f'  name: "{name}"', f'  zonefile: "{name}.zone"']
            with open(os.path.join(self.dir, f"{name}.zone"), "w", encoding="ascii") as f:
                f.write(f"$ORIGIN {name}.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n"
                        f"@ IN NS ns\nns IN A 127.0.0.1\n{text}\n")
        with open(os.path.join(self.dir, "nsd.conf"), "w", encoding="ascii") as f:
            f.write("\n".join(conf) + "\n")
        self.proc = subprocess.Popen([NSD, "-d", "-c", os.path.join(self.dir, "nsd.conf")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        first = next(iter(self.zones))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _answers(self.port, first):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        log = os.path.join(self.dir, "nsd.log")
        text = open(log, encoding="utf-8", errors="replace").read() if os.path.exists(log) else ""
        self.stop()
        raise RuntimeError(f"nsd did not start on port {self.port}:\n{text}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "LoopbackDns":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
