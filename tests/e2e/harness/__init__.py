"""Real-parts test machinery for Postern: a private Postfix on loopback with
Postern milters, SMTP peers, and delivery capture. Standard library only.

    from harness import PostfixInstance, MilterSpec, swaks, message

    with PostfixInstance(milters=[MilterSpec("build/bin/postern-incamail")]) as pf:
        r = swaks(pf.smtp_port, "bob@example.com", ["alice@example.com"], message(...))
        pf.wait_deliveries(1)

See tests/e2e/README.md.
"""

import os as _os

# Postfix's tools live in /usr/sbin, which a non-login root shell may lack.
for _dir in ("/usr/sbin", "/sbin"):
    if _dir not in _os.environ.get("PATH", "").split(":"):
        _os.environ["PATH"] = _os.environ.get("PATH", "") + ":" + _dir

from .capture import Delivery, read_deliveries
from .milter import CHAIN_ORDER, MilterProcess, MilterSpec, discover_milters, set_key
from .postfix import DEFAULT_ROUTES, PostfixInstance, Route, read_state, stop_recorded
from .smtp import SmtpResult, SmtpSink, message, parse_swaks, smtp_source, swaks
from .util import HarnessError, free_port, peak_rss_kib, smtp_banner, wait_until

__all__ = [
    "CHAIN_ORDER", "DEFAULT_ROUTES", "Delivery", "HarnessError", "MilterProcess", "MilterSpec",
    "PostfixInstance", "Route", "SmtpResult", "SmtpSink", "discover_milters", "free_port", "message",
    "parse_swaks", "peak_rss_kib", "read_deliveries", "read_state", "smtp_banner", "smtp_source",
    "stop_recorded", "swaks", "set_key", "wait_until",
]
