"""Delivery capture: the program Postfix's pipe(8) runs, and the reader for tests.

As a program (run by pipe(8) as an unprivileged user, one recipient per call):

    capture.py ROUTE_DIR --queue-id=ID --sender=S --recipient=R --original-recipient=O

reads the message from stdin exactly as Postfix hands it over (with the
Return-Path: and Delivered-To: headers the pipe flags ask for) and stores

    ROUTE_DIR/<queue id>.<recipient>.eml    the bytes, unchanged
    ROUTE_DIR/<queue id>.<recipient>.json   the envelope

The .json is published first, by link() so that it never replaces an earlier
delivery's, then the .eml by rename(): a reader that sees an .eml also sees
its envelope, and never a half-written message. Any failure exits 75
(EX_TEMPFAIL): Postfix keeps the message queued instead of bouncing it.

Only the standard library; it runs with `python3 -I -S`.
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import json
import os
import re
import sys
import time

EX_TEMPFAIL = 75
_UNSAFE = re.compile(r"[^A-Za-z0-9@._+=-]")


def _publish(route_dir: str, stem: str, envelope: dict, data: bytes) -> str:
    tmp_dir = os.path.join(route_dir, ".tmp")
    try:
        os.mkdir(tmp_dir)  # not makedirs: a missing route folder is a setup error
    except FileExistsError:
        pass
    tmp = os.path.join(tmp_dir, f"{os.getpid()}.{time.time_ns()}")
    with open(tmp + ".eml", "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    try:
        for n in range(1, 1000):
            name = stem if n == 1 else f"{stem}.{n}"
            final = os.path.join(route_dir, name)
            envelope["file"] = name + ".eml"
            with open(tmp + ".json", "w", encoding="utf-8") as f:
                json.dump(envelope, f, indent=1)
                f.write("\n")
            try:
                # The envelope claims the name: link() never replaces a file.
                os.link(tmp + ".json", final + ".json")
            except FileExistsError:
                continue
            os.rename(tmp + ".eml", final + ".eml")
            return final + ".eml"
        raise RuntimeError(f"no free file name for {stem} in {route_dir}")
    finally:
        for leftover in (tmp + ".json", tmp + ".eml"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def main(argv: list[str]) -> int:
    try:
        route_dir = argv[1]
        opts = dict(arg[2:].split("=", 1) for arg in argv[2:])
        envelope = {
            "route": os.path.basename(route_dir.rstrip("/")),
            "queue_id": opts["queue-id"],
            "sender": opts["sender"],
            "recipient": opts["recipient"],
            "original_recipient": opts["original-recipient"],
            "delivered_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        data = sys.stdin.buffer.read()
        envelope["size"] = len(data)
        stem = f"{envelope['queue_id']}.{_UNSAFE.sub('_', envelope['recipient'])[:120]}"
        _publish(route_dir, stem, envelope, data)
    except Exception as e:  # any failure: let Postfix retry later
        print(f"capture: {type(e).__name__}: {e}", file=sys.stderr)
        return EX_TEMPFAIL
    return 0


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One delivered copy: a message for one recipient on one route."""

    route: str
    path: str
    queue_id: str
    sender: str
    recipient: str
    original_recipient: str
    data: bytes

    @property
    def header_block(self) -> bytes:
        return self.data.split(b"\n\n", 1)[0] + b"\n"

    @property
    def body(self) -> bytes:
        parts = self.data.split(b"\n\n", 1)
        return parts[1] if len(parts) == 2 else b""

    def headers(self, name: str) -> list[str]:
        """Values of every header called `name`, top to bottom, unfolded."""
        msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(self.header_block)
        return [re.sub(r"\r?\n[ \t]", " ", v) for v in (msg.get_all(name) or [])]

    def header(self, name: str) -> str | None:
        values = self.headers(name)
        return values[0] if values else None


def read_deliveries(capture_root: str, route: str | None = None) -> list[Delivery]:
    """Every delivery under capture_root (or only one route), oldest first."""
    routes = [route] if route else sorted(
        d for d in os.listdir(capture_root) if os.path.isdir(os.path.join(capture_root, d)))
    found: list[tuple[float, Delivery]] = []
    for r in routes:
        route_dir = os.path.join(capture_root, r)
        if not os.path.isdir(route_dir):
            continue
        for name in os.listdir(route_dir):
            if not name.endswith(".eml"):
                continue
            path = os.path.join(route_dir, name)
            with open(path[:-4] + ".json", encoding="utf-8") as f:
                env = json.load(f)
            with open(path, "rb") as f:
                data = f.read()
            found.append((os.stat(path).st_mtime, Delivery(
                route=r, path=path, queue_id=env["queue_id"], sender=env["sender"],
                recipient=env["recipient"], original_recipient=env["original_recipient"], data=data)))
    found.sort(key=lambda item: (item[0], item[1].path))
    return [d for _, d in found]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
