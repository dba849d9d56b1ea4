"""A private Postfix instance on loopback, with optional Postern milters.

Runs as root, never touches the system instance (/etc/postfix): everything
lives under one base directory

    base/state.json        what runs (for stop/status from another process,
                           and for sweeping instances of a killed test run)
    base/postfix/etc/      main.cf, master.cf   (config_directory)
    base/postfix/spool/    queue_directory
    base/postfix/data/     data_directory
    base/log/maillog       Postfix's log (maillog_file via postlogd: no syslog)
    base/log/<milter>.log  each milter's stderr
    base/milters/<name>.yaml
    base/bin/capture.py    the delivery program pipe(8) runs
    base/delivered/<route>/  one .eml + .json per message and recipient

Routing: transport_maps send each route's domains to a pipe(8) transport
`route-<name>` that runs capture.py as `nobody` with flags DRX (Postfix
prepends Delivered-To: and Return-Path:), one recipient per delivery; the
route without domains is the default transport. A route with `relay` goes by
SMTP to that next hop instead (the benchmark's smtp-sink).

Teardown always happens: context manager, atexit, SIGTERM/SIGHUP; and an
instance whose owning process died without it (SIGKILL) is swept by the next
one started. POSTERN_E2E_KEEP=1 keeps the base directory for inspection.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import capture
from .milter import SOCKET_SUBDIR, MilterProcess, MilterSpec
from .util import (HarnessError, free_port, process_alive, run_with_tty, smtp_banner, wait_until)

CAPTURE_USER = "nobody"  # pipe(8) refuses root and the mail_owner
STATE_FILE = "state.json"
_TMP_PREFIX = "postern-e2e-"


@dataclasses.dataclass(frozen=True)
class Route:
    """Where mail for some domains goes: a capture folder, or an SMTP relay.

    domains: transport_maps keys (".example.com" matches subdomains only);
    empty means the default route for every other domain.
    """

    name: str
    domains: tuple[str, ...] = ()
    relay: str | None = None  # e.g. "[127.0.0.1]:2526"

    @property
    def transport(self) -> str:
        return f"smtp:{self.relay}" if self.relay else f"route-{self.name}:"


# example.com is the internal domain; .incamail.ch recipients (what
# postern-incamail rewrites external recipients to) get their own folder, where
# production sends them over mutual TLS to IncaMail.
DEFAULT_ROUTES = (
    Route("local", ("example.com",)),
    Route("incamail", ("incamail.ch", ".incamail.ch")),
    Route("internet"),
)


def _capture_python() -> str:
    """A Python that `nobody` can run: Debian's, not one under root's home."""
    for candidate in ("/usr/bin/python3", sys.executable):
        if os.access(candidate, os.X_OK) and reachable_by(os.path.dirname(candidate), CAPTURE_USER):
            return candidate
    raise HarnessError(f"no python3 that user {CAPTURE_USER} can run (apt-get install python3)")


def _keep_requested() -> bool:
    return os.environ.get("POSTERN_E2E_KEEP", "") not in ("", "0")


def reachable_by(path: str, user: str) -> bool:
    """True if `user` can search every directory from / down to path."""
    pw = pwd.getpwnam(user)
    groups = {pw.pw_gid} | {g for g in os.getgrouplist(user, pw.pw_gid)}
    current = os.path.abspath(path)
    while True:
        st = os.stat(current)
        if st.st_uid == pw.pw_uid:
            bit = 0o100
        elif st.st_gid in groups:
            bit = 0o010
        else:
            bit = 0o001
        if not st.st_mode & bit:
            return False
        parent = os.path.dirname(current)
        if parent == current:
            return True
        current = parent


class PostfixInstance:
    """A private Postfix (and its milters) under one base directory.

    With detach=True (the demo gateway) the processes outlive this Python
    process: stop it later with stop_recorded(base).
    """

    def __init__(self, *, base_dir: str | None = None, smtp_port: int | None = None,
                 milters: list[MilterSpec] | tuple[MilterSpec, ...] = (),
                 routes: tuple[Route, ...] = DEFAULT_ROUTES, main_cf: dict[str, str] | None = None,
                 hostname: str = "gateway.postern.test", detach: bool = False,
                 reinject_milters: tuple[str, ...] | None = None) -> None:
        """reinject_milters: None for no re-injection listener; else the names
        of the milters (of `milters`) that run on it, as postfix-examples/
        master.cf sets it up (postern-policy re-submits copies there). It
        listens on self.reinject_port."""
        names = [spec.name for spec in milters]
        if len(set(names)) != len(names):
            raise HarnessError(f"milter names must be unique: {names}")
        unknown = [n for n in reinject_milters or () if n not in names]
        if unknown:
            raise HarnessError(f"re-injection milters not in this instance: {unknown}")
        self.reinject_milters = reinject_milters
        self.owns_base = base_dir is None
        self.base = os.path.abspath(base_dir) if base_dir else tempfile.mkdtemp(prefix=_TMP_PREFIX)
        self.smtp_port = smtp_port or free_port()
        self.routes = routes
        self.hostname = hostname
        self.extra_main_cf = dict(main_cf or {})
        self.detach = detach
        self.keep = _keep_requested() or not self.owns_base
        self.config_dir = os.path.join(self.base, "postfix", "etc")
        self.queue_dir = os.path.join(self.base, "postfix", "spool")
        self.data_dir = os.path.join(self.base, "postfix", "data")
        self.log_dir = os.path.join(self.base, "log")
        self.capture_dir = os.path.join(self.base, "delivered")
        self.maillog = os.path.join(self.log_dir, "maillog")
        self.milters: list[MilterProcess] = []
        taken = {self.smtp_port}
        for spec in milters:
            spec = dataclasses.replace(spec)
            if spec.port is None:
                while (port := free_port()) in taken:
                    pass
                spec.port = port
            taken.add(spec.port)
            self.milters.append(MilterProcess(spec, os.path.join(self.base, "milters", f"{spec.name}.yaml"),
                                              os.path.join(self.log_dir, f"{spec.name}.log"), self.queue_dir))
        self.reinject_port: int | None = None
        if reinject_milters is not None:
            while (port := free_port()) in taken:
                pass
            self.reinject_port = port
        self._started = False

    # ----------------------------------------------------------------- config

    def main_cf(self) -> dict[str, str]:
        """The main.cf parameters, in order; extra main_cf entries win."""
        capture_routes = [r for r in self.routes if not r.relay]
        default = [r for r in self.routes if not r.domains]
        if len(default) != 1:
            raise HarnessError("exactly one route must have no domains (the default route)")
        entries = ", ".join(f"{{{d} = {r.transport}}}" for r in self.routes for d in r.domains)
        internal = [d for r in self.routes if r.name == "local" for d in r.domains]
        def milter_entries(milters: list[MilterProcess]) -> str:
            return ", ".join(
                f"{{ {m.postfix_address}, default_action=tempfail, "
                f"connect_timeout={m.spec.connect_timeout}, command_timeout={m.spec.command_timeout}, "
                f"content_timeout={m.spec.content_timeout} }}" for m in milters)

        cf = {
            "compatibility_level": "3.6",
            # A private instance: its own directories, loopback only.
            "config_directory": self.config_dir,
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.log_dir,
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "myhostname": self.hostname,
            "myorigin": "$myhostname",
            # Nothing is delivered by local(8): every domain goes to a route.
            "mydestination": "",
            "local_recipient_maps": "",
            # The internal domain takes mail from anyone, as a real gateway's
            # does: a test can play an outside client with swaks --xclient.
            "relay_domains": " ".join(internal),
            # Mail from loopback is internal (the milters' default networks too).
            "mynetworks": "127.0.0.0/8",
            "smtpd_authorized_xclient_hosts": "127.0.0.0/8",
            "transport_maps": f"inline:{{ {entries} }}" if entries else "",
            "default_transport": default[0].transport,
            "relay_transport": default[0].transport,
            # Short timers: a deferred test message is retried within seconds.
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "5s",
            "smtp_connect_timeout": "5s",
            "disable_dns_lookups": "yes",
            "biff": "no",
            "milter_default_action": "tempfail",
            "milter_connect_macros": "j {daemon_name} {daemon_addr} v _ {client_addr}",
            "smtpd_milters": milter_entries(self.milters),
        }
        if self.reinject_milters is not None:
            cf["postern_reinject_milters"] = milter_entries(
                [m for m in self.milters if m.name in self.reinject_milters])
        for r in capture_routes:
            # Delivered-To: needs one recipient per delivery.
            cf[f"route-{r.name}_destination_recipient_limit"] = "1"
        cf.update(self.extra_main_cf)
        return cf

    def master_cf(self) -> str:
        """master.cf: the services a loopback gateway needs, none chrooted."""
        capture_program = os.path.join(self.base, "bin", "capture.py")
        lines = [
            "# service type  private unpriv  chroot  wakeup  maxproc command",
            f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd",
            "cleanup   unix  n - n - 0 cleanup",
            "qmgr      unix  n - n 300 1 qmgr",
            "rewrite   unix  - - n - - trivial-rewrite",
            "bounce    unix  - - n - 0 bounce",
            "defer     unix  - - n - 0 bounce",
            "trace     unix  - - n - 0 bounce",
            "verify    unix  - - n - 1 verify",
            "flush     unix  n - n 1000? 0 flush",
            "proxymap  unix  - - n - - proxymap",
            "smtp      unix  - - n - - smtp",
            "showq     unix  n - n - - showq",
            "error     unix  - - n - - error",
            "retry     unix  - - n - - error",
            "discard   unix  - - n - - discard",
            "anvil     unix  - - n - 1 anvil",
            "scache    unix  - - n - 1 scache",
            "postlog   unix-dgram n - n - 1 postlogd",
        ]
        if self.reinject_port is not None:
            # As postfix-examples/master.cf: loopback only, its own milters,
            # no header checks (the signed plan must survive).
            lines += [
                f"127.0.0.1:{self.reinject_port} inet n - n - - smtpd",
                "  -o syslog_name=postfix/postern-reinject",
                "  -o smtpd_milters=$postern_reinject_milters",
                "  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks",
                "  -o smtpd_client_restrictions=permit_mynetworks,reject",
                "  -o smtpd_relay_restrictions=permit_mynetworks,reject",
                "  -o smtpd_recipient_restrictions=permit_mynetworks,reject",
                "  -o smtpd_authorized_xforward_hosts=127.0.0.0/8",
                "  -o milter_macro_daemon_name=POSTERN-REINJECT",
            ]
        for r in self.routes:
            if r.relay:
                continue
            lines += [
                f"route-{r.name} unix - n n - - pipe",
                f"  flags=DRX user={CAPTURE_USER} null_sender=",
                f"  argv={_capture_python()} -I -S {capture_program} {os.path.join(self.capture_dir, r.name)}",
                "  --queue-id=${queue_id} --sender=${sender} --recipient=${recipient}",
                "  --original-recipient=${original_recipient}",
            ]
        return "\n".join(lines) + "\n"

    def write_config(self) -> None:
        """Creates the directories and writes main.cf, master.cf, milter configs."""
        os.chmod(self.base, 0o755)  # mkdtemp makes it 0700; pipe runs as nobody
        if not reachable_by(self.base, CAPTURE_USER):
            raise HarnessError(f"{self.base} is not reachable by user {CAPTURE_USER} "
                               "(a parent directory lacks o+x); choose a base directory elsewhere")
        for d in (self.config_dir, self.queue_dir, self.data_dir, self.log_dir,
                  os.path.join(self.base, "milters"), os.path.join(self.base, "bin")):
            os.makedirs(d, exist_ok=True)
        # Postfix's own checks want the data directory owned by mail_owner.
        mail_owner = pwd.getpwnam(self.main_cf().get("mail_owner", "postfix"))
        os.chown(self.data_dir, mail_owner.pw_uid, mail_owner.pw_gid)
        if any(m.socket_path for m in self.milters):
            # The UNIX-socket milters' directory, as the packages make
            # /var/spool/postfix/postern: the milters' owner, group postfix, 0750.
            sockets = os.path.join(self.queue_dir, SOCKET_SUBDIR)
            os.makedirs(sockets, exist_ok=True)
            os.chown(sockets, os.getuid(), mail_owner.pw_gid)
            os.chmod(sockets, 0o750)
        nobody = pwd.getpwnam(CAPTURE_USER)
        os.makedirs(self.capture_dir, exist_ok=True)
        os.chmod(self.capture_dir, 0o755)
        for r in self.routes:
            if not r.relay:
                d = os.path.join(self.capture_dir, r.name)
                os.makedirs(d, exist_ok=True)
                os.chown(d, nobody.pw_uid, nobody.pw_gid)
                os.chmod(d, 0o755)
        shutil.copyfile(capture.__file__, os.path.join(self.base, "bin", "capture.py"))
        os.chmod(os.path.join(self.base, "bin", "capture.py"), 0o644)
        with open(os.path.join(self.config_dir, "main.cf"), "w", encoding="utf-8") as f:
            f.write("# Written by the Postern e2e harness for a private instance.\n")
            f.writelines(f"{k} = {v}\n" for k, v in self.main_cf().items())
        with open(os.path.join(self.config_dir, "master.cf"), "w", encoding="utf-8") as f:
            f.write(self.master_cf())
        for m in self.milters:
            m.write_config()

    # -------------------------------------------------------------- lifecycle

    def start(self, timeout: float = 30.0) -> "PostfixInstance":
        sweep_orphans()
        if not self.detach:
            _LIVE.add(self)
        self._started = True
        self.write_config()
        self._save_state()
        for m in self.milters:
            m.check_config()
        for m in self.milters:
            m.start()
        self._save_state()
        self.postfix("check")
        self.postfix("start")
        try:
            wait_until(lambda: smtp_banner(self.smtp_port), timeout, f"Postfix to answer 220 on port {self.smtp_port}")
        except TimeoutError as e:
            raise HarnessError(f"{e}; maillog:\n{self.maillog_text()[-3000:]}") from None
        return self

    def stop(self) -> None:
        """Stops Postfix, then the milters. Safe to call more than once."""
        if not self._started:
            return
        self._started = False
        _LIVE.discard(self)
        _stop_postfix(self.config_dir)
        for m in self.milters:
            m.stop()
        self._save_state()

    def close(self) -> None:
        """stop(), then removes the base directory unless it is to be kept."""
        try:
            self.stop()
        finally:
            if self.keep:
                if self.owns_base:
                    print(f"postern-e2e: kept {self.base}", file=sys.stderr)
            else:
                shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> "PostfixInstance":
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    def milter(self, name: str) -> MilterProcess:
        for m in self.milters:
            if m.name == name:
                return m
        raise KeyError(f"no milter {name!r} in this instance (have: {[m.name for m in self.milters]})")

    def _save_state(self) -> None:
        state = {
            "owner_pid": None if self.detach else os.getpid(),
            "keep": self.keep,
            "config_dir": self.config_dir,
            "smtp_port": self.smtp_port,
            "capture_dir": self.capture_dir,
            "maillog": self.maillog,
            "milters": [{"name": m.name, "pid": m.pid, "binary": m.spec.binary, "port": m.port,
                         "address": m.postfix_address, "config": m.config_file, "log": m.log_file}
                        for m in self.milters],
        }
        tmp = os.path.join(self.base, STATE_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, os.path.join(self.base, STATE_FILE))

    # ---------------------------------------------------------------- queries

    def postfix(self, *args: str) -> str:
        """Runs `postfix -c CONFIG_DIR args...`; raises with its output on failure."""
        status, out = run_with_tty(["postfix", "-c", self.config_dir, *args])
        if status != 0:
            raise HarnessError(f"postfix -c {self.config_dir} {' '.join(args)} failed (exit {status}):\n{out}"
                               f"\nmaillog:\n{self.maillog_text()[-2000:]}")
        return out

    def queue(self) -> list[dict]:
        """The queue as postqueue -j reports it: one dict per queued message."""
        proc = subprocess.run(["postqueue", "-c", self.config_dir, "-j"], capture_output=True, text=True,
                              timeout=30)
        if proc.returncode != 0:
            raise HarnessError(f"postqueue -j failed (exit {proc.returncode}): {proc.stderr}")
        return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]

    def flush(self) -> None:
        """Asks the queue manager to retry deferred mail now."""
        run_with_tty(["postqueue", "-c", self.config_dir, "-f"])

    def wait_queue_empty(self, timeout: float = 30.0) -> None:
        try:
            wait_until(lambda: not self.queue(), timeout, "the Postfix queue to empty", interval=0.3)
        except TimeoutError as e:
            raise AssertionError(f"{e}; still queued: {json.dumps(self.queue(), indent=1)}") from None

    def deliveries(self, route: str | None = None) -> list[capture.Delivery]:
        return capture.read_deliveries(self.capture_dir, route)

    def wait_deliveries(self, count: int, timeout: float = 30.0, route: str | None = None) -> list[capture.Delivery]:
        """Waits until at least `count` deliveries are there; returns them all."""
        try:
            wait_until(lambda: len(self.deliveries(route)) >= count, timeout,
                       f"{count} deliveries{' on route ' + route if route else ''}")
        except TimeoutError as e:
            raise AssertionError(f"{e}; have {len(self.deliveries(route))}; queue: {self.queue()}; "
                                 f"maillog tail:\n{self.maillog_text()[-3000:]}") from None
        return self.deliveries(route)

    def maillog_text(self) -> str:
        try:
            with open(self.maillog, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def postfix_running(config_dir: str) -> bool:
    if not os.path.isfile(os.path.join(config_dir, "main.cf")):
        return False
    status, _ = run_with_tty(["postfix", "-c", config_dir, "status"])
    return status == 0


def _stop_postfix(config_dir: str) -> None:
    """postfix stop; abort if an orderly stop fails; quiet if it is not running."""
    if not postfix_running(config_dir):
        return
    status, _ = run_with_tty(["postfix", "-c", config_dir, "stop"])
    if status != 0:
        run_with_tty(["postfix", "-c", config_dir, "abort"])
    # postfix stop returns before master has exited; the pid file says when.
    pid_file = os.path.join(os.path.dirname(config_dir), "spool", "pid", "master.pid")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(pid_file, encoding="ascii") as f:
                pid = int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return
        if not pid or not process_alive(pid):
            return
        time.sleep(0.1)


def read_state(base: str) -> dict | None:
    try:
        with open(os.path.join(base, STATE_FILE), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def recorded_milters(state: dict) -> list[MilterProcess]:
    """The milters a state file records, as processes that can be stopped."""
    procs = []
    for entry in state.get("milters", []):
        proc = MilterProcess(MilterSpec(binary=entry["binary"], port=entry["port"]), entry["config"], entry["log"])
        proc.pid = entry["pid"]
        procs.append(proc)
    return procs


def stop_recorded(base: str) -> bool:
    """Stops what base/state.json records (Postfix and milters); False if no state."""
    state = read_state(base)
    if state is None:
        return False
    _stop_postfix(state["config_dir"])
    for m in recorded_milters(state):
        m.stop()
    return True


def sweep_orphans() -> None:
    """Stops and removes the instances of test processes that died unclean."""
    tmp = tempfile.gettempdir()
    for entry in os.listdir(tmp):
        base = os.path.join(tmp, entry)
        if not entry.startswith(_TMP_PREFIX) or not os.path.isdir(base):
            continue
        state = read_state(base)
        if state is None or state.get("owner_pid") is None or process_alive(state["owner_pid"]):
            continue
        stop_recorded(base)
        if state.get("keep"):
            state["owner_pid"] = None  # stopped; keep the files, skip it next time
            with open(os.path.join(base, STATE_FILE), "w", encoding="utf-8") as f:
                json.dump(state, f, indent=1)
        else:
            shutil.rmtree(base, ignore_errors=True)


_LIVE: set[PostfixInstance] = set()


def _close_live() -> None:
    for inst in list(_LIVE):
        try:
            inst.close()
        except Exception as e:  # keep closing the others
            print(f"postern-e2e: teardown of {inst.base} failed: {e}", file=sys.stderr)


def _exit_on_signal(signum: int, _frame: object) -> None:
    # SystemExit unwinds `with` blocks; atexit then catches the rest.
    raise SystemExit(128 + signum)


atexit.register(_close_live)
for _sig in (signal.SIGTERM, signal.SIGHUP):
    if signal.getsignal(_sig) is signal.SIG_DFL:
        signal.signal(_sig, _exit_on_signal)
