"""Throughput of the gateway: smtp-source -> private Postfix -> smtp-sink.

Two runs in one process, same machine state: bare Postfix, then Postfix with
the Postern chain (every postern-* milter in build/bin, each with its example
config). Prints messages/s for both (accepted: smtp-source's wall time, i.e.
the pre-queue cost where milters run; delivered: until the last message left
the queue), their ratio, and each milter's peak RSS. The ratio is reported,
not asserted (target for plain pass-through mail: >= 0.90); what is asserted
is that every message arrived at the sink and the queue is empty.

    python3 tests/bench/bench_throughput.py [--messages 2000] [--size 10240] [--sessions 8]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

from harness import (HarnessError, MilterSpec, PostfixInstance, Route, SmtpSink, discover_milters,  # noqa: E402
                     smtp_source, wait_until)
from harness.testing import BIN_DIR, EXIT_SKIPPED, SOURCE_DIR, missing_prerequisites  # noqa: E402

WARMUP = 50  # spawns Postfix's processes and the milters' threads before timing

# A policy for plain pass-through mail: a few rules that look at every
# message and match none of the benchmark's (sign and encrypt only for a
# partner domain the benchmark never writes to).
BENCH_RULES = """
direction:
  internal_networks: [127.0.0.0/8]
rules:
  - name: refuse-executables
    when: {attachment_name: ["*.exe", "*.scr"]}
    actions: [{reject: Executable attachments are not accepted here}]
    stop: true
  - name: partner-smime
    when: {direction: outbound, recipient: "@partner.example"}
    actions: [{encrypt: {method: smime, fallback: hold}}, sign]
  - name: inbound-smime
    when: {direction: inbound, encrypted: smime}
    actions: [decrypt, verify]
"""


def prepare_chain(chain: list[MilterSpec], work: str) -> None:
    """Gives postern-policy, -incamail and -crypto what their packaged
    configurations take from /etc/postern and /var/lib/postern: a plan key,
    the rules above and an empty key store, all under `work`."""
    os.makedirs(work, exist_ok=True)
    key = os.path.join(work, "plan.key")
    with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(b"bench-plan-secret-0123456789abcdef-0123456789abcdef")
    rules = os.path.join(work, "policy-rules.yaml")
    with open(rules, "w", encoding="utf-8") as f:
        f.write(BENCH_RULES)
    store = os.path.join(work, "store")
    for sub, mode in (("certs", 0o755), ("private", 0o700), ("anchors", 0o755), ("intermediates", 0o755),
                      ("crls", 0o755)):
        os.makedirs(os.path.join(store, sub), mode=mode, exist_ok=True)
    for m in chain:
        if m.name == "policy":
            m.settings.update({"policy.rules": rules, "plan.secret_file": key})
        elif m.name in ("incamail", "crypto"):
            m.settings["plan.secret_file"] = key
            if m.name == "crypto":
                m.settings["keystore.root"] = store


REFERENCE = os.path.join(os.path.dirname(BIN_DIR), "tests", "reference_milter")
REFERENCE_STAGES = ("connect", "eoh", "eom")


def reference_chain(stages: str, transport: str, work: str) -> list[MilterSpec]:
    """reference_milter once per stage, each under a name of its own (the
    harness names a milter after its binary): postern-ref1, postern-ref2..."""
    chain = []
    os.makedirs(work, exist_ok=True)
    for i, stage in enumerate(stages.split(","), 1):
        if stage not in REFERENCE_STAGES:
            raise SystemExit(f"bench: reference stage {stage!r} is not one of {', '.join(REFERENCE_STAGES)}")
        link = os.path.join(work, f"postern-ref{i}")
        os.symlink(REFERENCE, link)
        chain.append(MilterSpec(binary=link, config_text=f"stage: {stage}\n", transport=transport))
    return chain


class RunResult:
    def __init__(self, label: str, accept_s: float, deliver_s: float, count: int, rss: dict[str, int | None]):
        self.label = label
        self.accept_rate = count / accept_s
        self.deliver_rate = count / deliver_s
        self.deliver_s = deliver_s
        self.rss = rss


def sent_count(pf: PostfixInstance, sink_port: int) -> int:
    relay = re.escape(f"relay=127.0.0.1[127.0.0.1]:{sink_port},")
    return len(re.findall(rf" {relay} .*status=sent ", pf.maillog_text()))


def run(label: str, milters: list[MilterSpec], args: argparse.Namespace, work: str) -> RunResult:
    os.makedirs(work, exist_ok=True)
    with SmtpSink(os.path.join(work, f"smtp-sink-{label}.log")) as sink:
        with PostfixInstance(milters=milters, routes=(Route("internet", relay=f"[127.0.0.1]:{sink.port}"),)) as pf:
            smtp_source(pf.smtp_port, WARMUP, sessions=args.sessions, size=args.size,
                        reuse_connections=args.reuse_connections)
            wait_until(lambda: sent_count(pf, sink.port) >= WARMUP, 60, "the warm-up messages")
            start = time.monotonic()
            accept_s = smtp_source(pf.smtp_port, args.messages, sessions=args.sessions, size=args.size,
                                   timeout=args.timeout, reuse_connections=args.reuse_connections)
            total = WARMUP + args.messages
            try:
                wait_until(lambda: sent_count(pf, sink.port) >= total, args.timeout, f"{total} messages at the sink",
                           interval=0.05)
            except TimeoutError as e:
                raise AssertionError(f"{e}: only {sent_count(pf, sink.port)} arrived; queue: {pf.queue()[:5]}") from None
            deliver_s = time.monotonic() - start
            pf.wait_queue_empty(timeout=30)
            arrived = sent_count(pf, sink.port)
            if arrived != total:
                raise AssertionError(f"{label}: {arrived} deliveries at the sink, expected {total}")
            rss = {m.name: m.peak_rss_kib() for m in pf.milters}
            for m in pf.milters:
                if not m.running():
                    raise AssertionError(f"{label}: postern-{m.name} died during the run:\n{m.log_tail()}")
    return RunResult(label, accept_s, deliver_s, args.messages, rss)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--size", type=int, default=10240, help="message size in bytes")
    parser.add_argument("--sessions", type=int, default=8, help="parallel SMTP sessions")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--milters", help="comma-separated short names (default: every built one)")
    parser.add_argument("--reference", action="store_true",
                        help="also run with reference_milter (C, accepts at connect): the cost of any milter")
    parser.add_argument("--reference-chain", metavar="STAGES", action="append", default=[],
                        help="(repeatable) also run a chain of reference_milter instances, one per comma-separated stage "
                             "(connect: accepts at connect; eoh: reads the headers, accepts at end of headers; "
                             "eom: reads everything, adds a header), e.g. connect,eom,eoh,eoh: the floor "
                             "cost of a chain shaped like Postern's")
    parser.add_argument("--transport", choices=("unix", "inet"), default="unix",
                        help="how Postfix reaches the milters: UNIX-domain sockets (as packaged) or loopback TCP")
    parser.add_argument("--reuse-connections", action="store_true",
                        help="several messages per SMTP connection (smtp-source -d) instead of one each")
    args = parser.parse_args()

    problems = missing_prerequisites()
    if problems:
        print("SKIPPED: " + "; ".join(problems), file=sys.stderr)
        return EXIT_SKIPPED
    try:
        chain = discover_milters(BIN_DIR, SOURCE_DIR, args.milters.split(",") if args.milters else None)
    except HarnessError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2

    print(f"bench: {args.messages} messages x {args.size} bytes, {args.sessions} sessions, "
          f"smtp-source -> Postfix -> smtp-sink; milters: {', '.join(m.name for m in chain) or 'none built'} "
          f"over {args.transport} sockets")
    if (args.reference or args.reference_chain) and not os.access(REFERENCE, os.X_OK):
        print(f"bench: {REFERENCE} is not built", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="postern-bench-") as work:
        results = [run("bare", [], args, work)]
        if args.reference:
            results.append(run("reference", [MilterSpec(binary=REFERENCE, config_text="", transport=args.transport)],
                               args, work))
        for i, stages in enumerate(args.reference_chain):
            results.append(run(f"ref:{stages}", reference_chain(stages, args.transport, os.path.join(work, f"ref{i}")),
                               args, work))
        if chain:
            for m in chain:
                m.transport = args.transport
            prepare_chain(chain, os.path.join(work, "chain-files"))
            results.append(run("chain", chain, args, work))

    width = max(10, *(len(r.label) + 2 for r in results))
    print(f"{'run':<{width}}{'accepted/s':>12}{'delivered/s':>13}{'seconds':>10}{'ratio':>8}")
    for r in results:
        print(f"{r.label:<{width}}{r.accept_rate:>12.1f}{r.deliver_rate:>13.1f}{r.deliver_s:>10.2f}"
              f"{r.accept_rate / results[0].accept_rate:>8.2f}")
    if chain:
        bare, chain_run = results[0], results[-1]
        print(f"ratio chain/bare: accepted {chain_run.accept_rate / bare.accept_rate:.2f}, "
              f"delivered {chain_run.deliver_rate / bare.deliver_rate:.2f} "
              "(target for plain pass-through: >= 0.90)")
        for name, kib in chain_run.rss.items():
            print(f"peak RSS postern-{name}: {kib / 1024:.1f} MiB" if kib else f"peak RSS postern-{name}: unknown")
    else:
        print("ratio: no milter built in " + BIN_DIR + ", chain run skipped")
    print(f"all {args.messages + WARMUP} messages arrived in every run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
