"""The demo gateway: the e2e harness's Postfix setup, kept running for a person.

    PYTHONPATH=tests/e2e python3 -m harness gateway start|stop|status|run \\
        --base var/demo --port 2525 --bin-dir build/bin --source-dir .

start returns once 127.0.0.1:PORT answers 220; run stays in the foreground,
printing the mail log, until Ctrl-C or SIGTERM, then stops everything; stop
and status work from any later process through BASE/state.json. ci/demo-gateway
is the command people use; this is its engine.

Exit status: 0 ok; 1 failure; 3 (status) not running or degraded.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time

from . import DEFAULT_ROUTES, HarnessError, PostfixInstance, discover_milters, read_state, smtp_banner
from .milter import MilterSpec
from .postfix import CAPTURE_USER, postfix_running, reachable_by, recorded_milters, stop_recorded
from .smime_pki import SmimePki
from .util import listening_ports

EXIT_NOT_RUNNING = 3
# What the demo changes in the example configs: example.com is the internal
# domain, so tagged mail to alice@example.com stays inside.
DEMO_SETTINGS = {"incamail": {"internal.domains": "[example.com]"}}


def resolve_base(requested: str, create: bool) -> str:
    """The directory to run in: `requested`, or a stand-in it links to.

    pipe(8) delivers as `nobody`, who must reach the delivery folders; a clone
    under a private home (/root is 0700) is out of its reach, so the gateway
    then lives in /var/tmp and `requested` becomes a symlink to it.
    """
    requested = os.path.abspath(requested)
    if os.path.islink(requested) or not create:
        return os.path.realpath(requested)
    parent = os.path.dirname(requested)
    os.makedirs(parent, exist_ok=True)
    if reachable_by(parent, CAPTURE_USER):
        os.makedirs(requested, exist_ok=True)
        return requested
    stand_in = "/var/tmp/postern-demo-" + hashlib.sha256(requested.encode()).hexdigest()[:12]
    os.makedirs(stand_in, exist_ok=True)
    if os.path.isdir(requested):
        if os.listdir(requested):
            raise HarnessError(f"{requested} is not reachable by user {CAPTURE_USER} and is not empty; "
                               "move it away or clone the repository somewhere world-searchable")
        os.rmdir(requested)
    os.symlink(stand_in, requested)
    print(f"note: {parent} is not reachable by user {CAPTURE_USER} (pipe delivery runs as it);\n"
          f"      {requested} is a link to {stand_in}")
    return stand_in


def milter_specs(args: argparse.Namespace) -> list[MilterSpec]:
    if args.milters == "none":
        return []
    only = args.milters.split(",") if args.milters else None
    specs = discover_milters(args.bin_dir, args.source_dir, only)
    for spec in specs:
        spec.settings.update(DEMO_SETTINGS.get(spec.name, {}))
        # As packaged: a UNIX socket in Postfix's queue directory.
        spec.transport = "unix"
        if spec.config_path is None:
            print(f"note: no example config packaging/config/{spec.name}.yaml; starting postern-{spec.name} "
                  "with its defaults")
    return specs


def prepare_policy(pf: PostfixInstance, source_dir: str, names: list[str], bin_dir: str) -> None:
    """The demo's own files under BASE/policy: the plan key (0600, kept across
    restarts) that postern-policy signs with and incamail and crypto verify,
    the example policy of policies/, and the demo key store (seed_key_store)
    that postern-crypto and the key_available condition use."""
    directory = os.path.join(pf.base, "policy")
    os.makedirs(directory, exist_ok=True)
    key = os.path.join(directory, "plan.key")
    if not os.path.exists(key):
        with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(os.urandom(48).hex().encode())
    store = os.path.join(pf.base, "keys")
    if not os.path.exists(store):
        seed_key_store(pf.base, store, bin_dir)
    if "policy" in names:
        # The example policy of policies/ (with its list file and drop-in
        # folder), copied once so it can be edited; reload with
        # `ci/demo-gateway stop && ci/demo-gateway start`.
        rules_dir = os.path.join(directory, "rules")
        if not os.path.exists(rules_dir):
            shutil.copytree(os.path.join(source_dir, "policies"), rules_dir)
        rules = os.path.join(rules_dir, "example.yaml")
        pf.milter("policy").spec.settings.update({
            "policy.rules": rules,
            "plan.secret_file": key,
            "reinjection.port": str(pf.reinject_port),
            "notifications.hostname": pf.hostname,
            "keystore.root": store,
        })
    if "incamail" in names:
        pf.milter("incamail").spec.settings.update({"plan.secret_file": key})
    if "crypto" in names:
        pf.milter("crypto").spec.settings.update({"plan.secret_file": key, "keystore.root": store})


def seed_key_store(base: str, store: str, bin_dir: str) -> None:
    """A demo PKI under BASE/demo-pki and a key store under BASE/keys: the
    demo root as trust anchor, alice@ and bob@example.com with their keys
    (they sign), someone@partner.example with a certificate only (mail to
    them is encrypted; the key to read it is BASE/demo-pki/someone.key)."""
    posternctl = os.path.join(bin_dir, "posternctl")
    os.makedirs(store, mode=0o700)
    if not os.access(posternctl, os.X_OK):
        return
    pki = SmimePki(os.path.join(base, "demo-pki"), organisation="Postern Demo", days=365)

    def keys(*args: str) -> None:
        proc = subprocess.run([posternctl, "keys", "import", "--store", store, *args], capture_output=True,
                              text=True, timeout=60)
        if proc.returncode != 0:
            raise HarnessError(f"posternctl keys import {' '.join(args)}: {proc.stdout}{proc.stderr}")

    keys("--anchor", pki.root + ".pem")
    for name in ("alice", "bob"):
        keys(pki.bundle(pki.user(name, f"{name}@example.com")))
    keys(pki.user("someone", "someone@partner.example") + ".pem")


def print_welcome(base: str, port: int, state: dict) -> None:
    chain = ", ".join(f"{m['name']} ({m.get('address') or 'port ' + str(m['port'])})"
                      for m in state["milters"]) or "none (no milter built yet)"
    delivered = state["capture_dir"]
    routes = {r.name: " ".join(r.domains) or "every other domain" for r in DEFAULT_ROUTES}
    print(f"""
Postern demo gateway: Postfix on 127.0.0.1:{port}, milters: {chain}
Mail from 127.0.0.1 counts as internal (mynetworks); example.com is the internal domain.

Send a first message:
  swaks --server 127.0.0.1:{port} --from bob@example.com --to alice@example.com --header 'Subject: hello'
  swaks --server 127.0.0.1:{port} --from bob@example.com --to someone@example.org --header 'Subject: <im><c> confidential'
  swaks --server 127.0.0.1:{port} --from bob@example.com --to someone@partner.example --header 'Subject: signed and encrypted'
    (policies/example.yaml, rule partners-smime; read it with
     openssl cms -decrypt -recip {base}/demo-pki/someone.pem -inkey {base}/demo-pki/someone.key -in FILE.eml)

Delivered mail, one file per message and recipient (+ .json with the envelope):
  {delivered}/local/     {routes['local']}
  {delivered}/internet/  {routes['internet']}
  {delivered}/incamail/  {routes['incamail']} (where postern-incamail sends tagged mail)
Logs: {state['maillog']}  and  {os.path.join(base, 'log')}/<milter>.log
""")


def cmd_start(args: argparse.Namespace, base: str) -> tuple[PostfixInstance, int] | None:
    """Starts the gateway; returns it and where this run's mail log begins."""
    state = read_state(base)
    if state and postfix_running(state["config_dir"]):
        print(f"already running (base {base})")
        print_welcome(base, state["smtp_port"], state)
        return None
    stop_recorded(base)  # leftovers of an unclean end (milters, a stale master)
    if args.port in listening_ports():
        raise HarnessError(f"port {args.port} is already in use by another program")
    specs = milter_specs(args)
    names = [spec.name for spec in specs]
    # postern-policy re-submits split groups and notices to a second smtpd
    # that runs only the milters after it.
    reinject = tuple(n for n in names if n in ("incamail", "crypto")) if "policy" in names else None
    pf = PostfixInstance(base_dir=base, smtp_port=args.port, milters=specs, detach=True, reinject_milters=reinject)
    if "policy" in names or "crypto" in names:
        prepare_policy(pf, args.source_dir, names, args.bin_dir)
    log_offset = os.path.getsize(pf.maillog) if os.path.exists(pf.maillog) else 0
    try:
        pf.start()
    except BaseException:
        stop_recorded(base)
        raise
    print_welcome(base, args.port, read_state(base))
    return pf, log_offset


def cmd_status(base: str) -> int:
    state = read_state(base)
    if state is None:
        print(f"not running (no gateway in {base})")
        return EXIT_NOT_RUNNING
    healthy = True
    running = postfix_running(state["config_dir"])
    banner = smtp_banner(state["smtp_port"]) if running else None
    healthy &= banner is not None
    print(f"postfix: {'running' if running else 'stopped'}; 127.0.0.1:{state['smtp_port']}: "
          f"{banner or 'no 220 greeting'}")
    for m, entry in zip(recorded_milters(state), state.get("milters", [])):
        up = m.running()
        healthy &= up
        where = entry.get("address") or f"port {m.port}"
        print(f"postern-{m.name}: {'running, pid ' + str(m.pid) if up else 'not running'}, {where}, "
              f"log {m.log_file}")
    capture = state["capture_dir"]
    for route in sorted(os.listdir(capture)) if os.path.isdir(capture) else []:
        count = len([f for f in os.listdir(os.path.join(capture, route)) if f.endswith(".eml")])
        print(f"delivered/{route}: {count} file(s)")
    return 0 if healthy else EXIT_NOT_RUNNING


def cmd_run(args: argparse.Namespace, base: str) -> int:
    """Foreground: start, follow the mail log, stop on Ctrl-C or SIGTERM."""
    started = cmd_start(args, base)
    if started is None:
        print("stop it first (ci/demo-gateway stop), or use status")
        return 1
    pf, log_offset = started
    print("Following the mail log; Ctrl-C stops the gateway.\n")
    reported_dead: set[str] = set()
    try:
        with open(pf.maillog, encoding="utf-8", errors="replace") as log:
            log.seek(log_offset)
            while True:
                line = log.readline()
                if line:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                    continue
                for m in pf.milters:
                    if m.name not in reported_dead and not m.running():
                        reported_dead.add(m.name)
                        print(f"!! postern-{m.name} is not running: Postfix answers 4xx until it is back. "
                              f"Log: {m.log_file}")
                time.sleep(0.3)
    except KeyboardInterrupt:
        print()
    finally:
        print("stopping the gateway ...")
        stop_recorded(base)
        print("stopped")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m harness", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    gw = sub.add_parser("gateway", help="run the demo gateway")
    gw.add_argument("action", choices=("start", "stop", "status", "run"))
    gw.add_argument("--base", required=True, help="runtime directory (e.g. var/demo)")
    gw.add_argument("--port", type=int, default=2525)
    gw.add_argument("--bin-dir", required=True, help="where postern-* milters are built")
    gw.add_argument("--source-dir", required=True, help="source tree (example configs)")
    gw.add_argument("--milters", help="comma-separated short names, or 'none' (default: every built one)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("the gateway needs root (Postfix starts as root)", file=sys.stderr)
        return 1
    if shutil.which("postfix") is None:
        print("postfix is not installed", file=sys.stderr)
        return 1
    try:
        base = resolve_base(args.base, create=args.action in ("start", "run"))
        if args.action == "start":
            cmd_start(args, base)
            return 0
        if args.action == "stop":
            print("stopped" if stop_recorded(base) else f"not running (no gateway in {base})")
            return 0
        if args.action == "status":
            return cmd_status(base)
        return cmd_run(args, base)
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
