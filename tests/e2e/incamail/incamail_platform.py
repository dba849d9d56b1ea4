"""A simulated IncaMail platform, and a gateway wired to it the way
postfix-examples/incamail/ says, for the e2e tests and the demo.

    pki = TestPki(directory)                     # test CA, platform, gateway and IncaMail certificates
    with PlatformInstance(pki) as platform:      # second private Postfix: TLS + verified client cert required
        with GatewayInstance(pki, platform.smtp_port, milters=[...]) as gw:
            ...

The module is not called platform.py: a file of that name beside the test
would shadow Python's own `platform` module for everything the test imports.

PlatformInstance is a harness PostfixInstance whose smtpd demands STARTTLS and
a client certificate that verifies against the test CA
(smtpd_tls_security_level=encrypt, smtpd_tls_req_ccert=yes), and delivers
everything into one capture route. GatewayInstance is the Postfix under test:
its main.cf, master.cf "incamail" transport, transport and tls_policy tables
are read from postfix-examples/incamail/, with only the file paths and the
IncaMail host replaced by the test ones, so the tests check what admins copy.
It also gets an internal listener (milter_macro_daemon_name=ORIGINATING, the
demo's "submission") beside the harness's public one.

As a program it runs the platform for the demo gateway (ci/demo-incamail.sh):

    incamail_platform.py start --base DIR --deliver-dir DIR [--port P] --gateway-base DIR
    incamail_platform.py stop --base DIR [--gateway-base DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import PostfixInstance, Route, read_state, stop_recorded  # noqa: E402
from harness.pki import TLSMGR, Pki  # noqa: E402
from harness.util import HarnessError, free_port, run_with_tty  # noqa: E402

SOURCE_DIR = os.environ.get("POSTERN_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
EXAMPLES = os.path.join(SOURCE_DIR, "postfix-examples", "incamail")

PLATFORM_NAME = "platform.incamail.test"  # the platform's certificate name (tls_policy match=)
GATEWAY_NAME = "gateway.postern.test"
INCAMAIL_CLIENT_NAME = "mail.incamail.test"  # IncaMail's client certificate, inbound
CA_NAME = "Postern Test IncaMail CA"
ORIGINATING = "ORIGINATING"  # {daemon_name} of the gateway's internal listener
# What postfix-examples/incamail/ writes, and what the tests put in its place.
EXAMPLE_HOST = "mx.incamail.invalid"


# ------------------------------------------------------------------ certificates

class TestPki(Pki):
    """The certificates of the IncaMail tests (P-256, valid 30 days).

    ca                the "SwissSign" of the tests: the platform's and IncaMail's issuer
    platform          the platform's server certificate, O=Post CH AG
    gateway           the organisation's certificate: client cert towards the platform
                      and the gateway's own STARTTLS certificate
    incamail_client   IncaMail's client certificate when it delivers to the gateway
    rogue_ca, rogue_client  the same names from a CA nobody trusts
    """

    def __init__(self, directory: str) -> None:
        super().__init__(directory)
        self.ca = self.make_ca("ca", CA_NAME)
        self.rogue_ca = self.make_ca("rogue-ca", "Rogue CA")
        self.platform = self.make_leaf("platform", self.ca, f"/O=Post CH AG/CN={PLATFORM_NAME}", PLATFORM_NAME,
                                  "serverAuth")
        self.gateway = self.make_leaf("gateway", self.ca, f"/O=Example AG/CN={GATEWAY_NAME}", GATEWAY_NAME,
                                 "serverAuth,clientAuth")
        self.incamail_client = self.make_leaf("incamail-client", self.ca, f"/O=Post CH AG/CN={INCAMAIL_CLIENT_NAME}",
                                         INCAMAIL_CLIENT_NAME, "clientAuth")
        self.rogue_client = self.make_leaf("rogue-client", self.rogue_ca, f"/O=Post CH AG/CN={INCAMAIL_CLIENT_NAME}",
                                      INCAMAIL_CLIENT_NAME, "clientAuth")


# ---------------------------------------------------------------- the examples

def read_main_cf(path: str) -> dict[str, str]:
    """name = value entries of a main.cf snippet (continuation lines joined)."""
    entries: dict[str, str] = {}
    name = None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t" and name:
                entries[name] += " " + line.strip()
                continue
            name, _, value = line.partition("=")
            name = name.strip()
            entries[name] = value.strip()
    return entries


def read_service(path: str, service: str) -> tuple[str, list[tuple[str, str]]]:
    """A master.cf snippet's service: its first line, and its -o name=value pairs."""
    first, options, inside = None, [], False
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] not in " \t":
                inside = line.split()[0] == service
                if inside:
                    first = line
                continue
            if inside:
                flag, _, setting = line.strip().partition(" ")
                if flag != "-o":
                    raise HarnessError(f"{path}: unexpected line in {service}: {line}")
                key, _, value = setting.partition("=")
                options.append((key, value))
    if first is None:
        raise HarnessError(f"{path}: no service {service}")
    return first, options


def read_table(path: str) -> list[tuple[str, str]]:
    """key value lines of a Postfix lookup table snippet."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if line and not line.startswith("#"):
                key, value = re.split(r"\s+", line, maxsplit=1)
                rows.append((key, value))
    return rows


def inline(rows: list[tuple[str, str]]) -> str:
    return "inline:{ " + ", ".join(f"{{{k} = {v}}}" for k, v in rows) + " }"


class ExampleSetup:
    """postfix-examples/incamail/ with the test's files and platform put in."""

    def __init__(self, pki: TestPki, platform_port: int, client_cert: bool = True) -> None:
        self.next_hop = f"[127.0.0.1]:{platform_port}"
        self.paths = {
            "/etc/postfix/incamail/ca.pem": pki.ca.pem,
            "/etc/postfix/incamail/client-cert.pem": pki.gateway.pem,
            "/etc/postfix/incamail/client-key.pem": pki.gateway.key,
            "/etc/postfix/incamail/server-cert.pem": pki.gateway.pem,
            "/etc/postfix/incamail/server-key.pem": pki.gateway.key,
        }
        self.client_cert = client_cert
        self.main_cf = read_main_cf(os.path.join(EXAMPLES, "main.cf"))
        self.service_line, self.service_options = read_service(os.path.join(EXAMPLES, "master.cf"), "incamail")
        self.transport = [(k, v.replace(f"[{EXAMPLE_HOST}]:25", self.next_hop))
                          for k, v in read_table(os.path.join(EXAMPLES, "transport"))]
        self.tls_policy = [(k.replace(f"[{EXAMPLE_HOST}]:25", self.next_hop), v.replace(EXAMPLE_HOST, PLATFORM_NAME))
                           for k, v in read_table(os.path.join(EXAMPLES, "tls_policy"))]

    def _paths(self, value: str) -> str:
        for example, actual in self.paths.items():
            value = value.replace(example, actual)
        return value

    def gateway_main_cf(self, local_transport: dict[str, str]) -> dict[str, str]:
        """The example's main.cf for a harness gateway; smtpd_milters stays the harness's."""
        cf = {k: self._paths(v) for k, v in self.main_cf.items() if k not in ("smtpd_milters",)}
        cf["transport_maps"] = inline(list(local_transport.items()) + self.transport)
        cf["smtp_tls_policy_maps"] = inline(self.tls_policy)
        return cf

    def incamail_service(self) -> list[str]:
        """master.cf lines of the incamail transport; without the client certificate if asked."""
        lines = [self.service_line]
        for key, value in self.service_options:
            if not self.client_cert and key in ("smtp_tls_cert_file", "smtp_tls_key_file"):
                continue
            lines.append(f"  -o {key}={self._paths(value)}")
        return lines


# ------------------------------------------------------------------ instances



class PlatformInstance(PostfixInstance):
    """The simulated IncaMail platform: a private Postfix whose smtpd takes mail
    only over TLS from clients with a certificate of the test CA."""

    def __init__(self, pki: TestPki, *, base_dir: str | None = None, smtp_port: int | None = None,
                 capture_dir: str | None = None, route: str = "platform", detach: bool = False) -> None:
        super().__init__(base_dir=base_dir, smtp_port=smtp_port, routes=(Route(route),),
                         hostname=PLATFORM_NAME, detach=detach, main_cf={
                             "smtpd_tls_security_level": "encrypt",
                             "smtpd_tls_req_ccert": "yes",
                             "smtpd_tls_CAfile": pki.ca.pem,
                             "smtpd_tls_cert_file": pki.platform.pem,
                             "smtpd_tls_key_file": pki.platform.key,
                             "smtpd_tls_loglevel": "1",
                             # The Received: header then says how the gateway came in.
                             "smtpd_tls_received_header": "yes",
                         })
        if capture_dir:
            self.capture_dir = os.path.abspath(capture_dir)

    def master_cf(self) -> str:
        return super().master_cf() + TLSMGR + "\n"


class GatewayInstance(PostfixInstance):
    """The gateway under test, set up from postfix-examples/incamail/."""

    def __init__(self, pki: TestPki, platform_port: int, *, client_cert: bool = True, **kwargs) -> None:
        self.example = ExampleSetup(pki, platform_port, client_cert)
        self.internal_port = free_port()
        routes = (Route("local", ("example.com",)), Route("internet"))
        super().__init__(routes=routes, hostname=GATEWAY_NAME, **kwargs,
                         main_cf=self.example.gateway_main_cf({"example.com": "route-local:"}))

    def master_cf(self) -> str:
        lines = [
            f"127.0.0.1:{self.internal_port} inet n - n - - smtpd",
            f"  -o milter_macro_daemon_name={ORIGINATING}",
            TLSMGR,
            *self.example.incamail_service(),
        ]
        return super().master_cf() + "\n".join(lines) + "\n"


# ------------------------------------------------------------------ the demo

def attach_to_gateway(config_dir: str, setup: ExampleSetup) -> None:
    """Routes a running demo gateway's IncaMail mail to the platform.

    The demo's transport_maps is an inline table whose .incamail.ch entries
    go to its capture route; they now go to the incamail transport instead.
    """
    def postconf(*args: str) -> str:
        proc = subprocess.run(["postconf", "-c", config_dir, *args], capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise HarnessError(f"postconf {' '.join(args)}: {proc.stderr}")
        return proc.stdout.strip()

    current = postconf("-h", "transport_maps")
    rows = re.findall(r"\{\s*([^{}=\s]+)\s*=\s*([^{}]*?)\s*\}", current)
    routed = {k for k, _ in setup.transport}
    rows = [(k, v) for k, v in rows if k not in routed] + setup.transport
    cf = {k: setup._paths(v) for k, v in setup.main_cf.items()
          if k.startswith("smtp_tls") or k.startswith("smtpd_tls")}
    cf["transport_maps"] = inline(rows)
    cf["smtp_tls_policy_maps"] = inline(setup.tls_policy)
    postconf("-e", *[f"{k}={v}" for k, v in cf.items()])
    first, *options = setup.incamail_service()
    postconf("-M", "-e", "incamail/unix=" + " ".join(first.split()))
    postconf("-M", "-e", "tlsmgr/unix=" + " ".join(TLSMGR.split()))
    postconf("-P", "-e", *[f"incamail/unix/{o.strip()[3:]}" for o in options])
    status, out = run_with_tty(["postfix", "-c", config_dir, "reload"])
    if status != 0:
        raise HarnessError(f"postfix reload failed: {out}")


def _main() -> int:
    parser = argparse.ArgumentParser(description="the simulated IncaMail platform for the demo gateway")
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument("--base", required=True, help="the platform's own directory")
    parser.add_argument("--deliver-dir", help="where delivered mail goes (a folder 'incamail' in it)")
    parser.add_argument("--port", type=int, help="the platform's SMTP port (default: a free one)")
    parser.add_argument("--gateway-base", help="the running demo gateway's base (its state.json)")
    args = parser.parse_args()
    base = os.path.abspath(args.base)
    if args.action == "stop":
        return 0 if stop_recorded(base) else 3
    os.makedirs(base, exist_ok=True)
    pki = TestPki(os.path.join(base, "pki"))
    platform = PlatformInstance(pki, base_dir=base, smtp_port=args.port, capture_dir=args.deliver_dir,
                                route="incamail", detach=True)
    platform.start()
    if args.gateway_base:
        state = read_state(os.path.abspath(args.gateway_base))
        if state is None:
            raise HarnessError(f"no demo gateway runs in {args.gateway_base}")
        attach_to_gateway(state["config_dir"], ExampleSetup(pki, platform.smtp_port))
    print(json.dumps({"port": platform.smtp_port, "ca": pki.ca.pem, "match": PLATFORM_NAME,
                      "client_cert": pki.gateway.pem, "client_key": pki.gateway.key,
                      "sha1": pki.platform.fingerprint("sha1"), "sha256": pki.platform.fingerprint("sha256"),
                      "delivered": os.path.join(platform.capture_dir, "incamail")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
