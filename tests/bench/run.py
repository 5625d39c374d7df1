"""`make bench`: wrk against the fake upstream, a bare pass-through, LiteLLM's proxy (when
installed) and the gateway (embedded SQLite; PostgreSQL + Redis with one and two worker
processes), each gateway through a key with every budget and rate limit on.

Usage: ``python -m tests.bench.run [--duration 10s | --quick] [--out docs/benchmarks]``.
Writes ``docs/benchmarks/results.json``, ``docs/benchmarks/README.md`` and the plots
(``latency.png``, ``throughput.png``, ``ttfb.png``) and prints the table. LiteLLM is
`$LITELLM_BIN`, else `.bench-venvs/litellm/bin/litellm` (`make bench-litellm-venv`); without
it, its row is left out with a note. Exits non-zero if any request failed (non-2xx or socket
error) or a server died.
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.bench import backlog, cores, cpu, logscan, machine, plots, report, ttfb
from tests.bench.loadgen import WrkResult, ensure_wrk, run_wrk, write_script, wrk_version
from tests.bench.procs import Processes
from tests.bench.targets import (
    Target,
    gateway,
    litellm_bin,
    request_body,
    sanity_check,
    start_bare,
    start_litellm,
    start_upstream,
)
from tests.support.processes import connections_by_process

ROOT = Path(__file__).resolve().parents[2]
# (shape, worker processes): the embedded default, then the production shape with 1 and 2
GATEWAYS = (("sqlite", 1), ("postgres", 1), ("postgres", 2))
# The share of a core each worker process gets in the runs that compare 1 and 2 workers
# capped (`tests/bench/cores.py`): two of 0.4 leave 1.2 cores of 2 to wrk, the upstream,
# PostgreSQL, Redis and the projection worker.
CORES_EACH = 0.4
# Clients in those runs: enough to keep two capped workers busy (a capped worker waits out the
# rest of each period, and what arrives meanwhile is served together: 16 clients each would hold
# back a worker that 32 do not).
CAPPED_CLIENTS = 64
# Rounds of those runs, 1 worker then 2 in each: capped runs vary more from one to the next than
# free ones, and in turn the machine's drift falls on both alike.
CAPPED_ROUNDS = 2


def _duration(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 10s)")
    return float(match.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[match.group(2) or "s"]


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.run", description=__doc__)
    parser.add_argument("--duration", type=_duration, default=10.0, help="per measurement (10s)")
    parser.add_argument("--quick", action="store_true", help="3 s per measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = 3.0
    return args


class Bench:
    def __init__(self, wrk: str, workdir: Path, duration: float) -> None:
        self.wrk, self.workdir, self.duration = wrk, workdir, duration
        self.warmup = min(duration, 3.0)
        self.targets: dict[str, Any] = {}
        self.failures: list[str] = []
        self.log_problems: dict[str, Any] = {}
        self.accounting: dict[str, Any] = {}
        self.served: dict[str, int] = {}  # completed requests per target, sanity checks included
        self.ttfb: dict[str, Any] = {}
        self.capped: dict[str, Any] = {}

    def measure(self, target: Target) -> None:
        busy = machine.quiet_busy_pct()
        if busy > 20:
            print(
                f"bench: WARNING the machine is {busy}% busy before measuring {target.name}; "
                "other work will skew the numbers",
                flush=True,
            )
        sanity_check(target)
        self.served[target.name] = target.served_before + 2
        entry: dict[str, Any] = {"description": target.description, "cpu_busy_before_pct": busy}
        for mode in report.MODES:
            script = self.workdir / f"{target.name}-{mode}.lua"
            write_script(script, request_body(mode == "stream"), target.key)
            self._run(target, mode, "warm-up", script, 32, self.warmup)
            entry[mode] = {"settle_before_c1": self.settle(target)}
            one = self._run(target, mode, "c1", script, 1, self.duration)
            pids = [child.proc.pid for child in target.children]
            cpu_before = sum(cpu.seconds(pid) for pid in pids)
            many = self._run(target, mode, "c32", script, 32, self.duration)
            spent = sum(cpu.seconds(pid) for pid in pids) - cpu_before
            cpu_us = round(1e6 * spent / max(many.requests, 1), 1)
            entry[mode] |= {"c1": one.as_dict(), "c32": many.as_dict() | {"cpu_us": cpu_us}}
            print(
                f"bench: {target.name:<17} {mode:<6} 1 client p50 {one.p50_ms:7.2f} ms "
                f"p99 {one.p99_ms:7.2f} ms {one.requests_per_s:8.0f} req/s | 32 clients "
                f"{many.requests_per_s:8.0f} req/s p50 {many.p50_ms:7.2f} ms "
                f"p99 {many.p99_ms:7.2f} ms",
                flush=True,
            )
        self.settle(target)
        self.ttfb[target.name] = ttfb.measure(target)
        self.served[target.name] += ttfb.WARM_UP + ttfb.REQUESTS
        for child in target.children:
            if not child.alive():
                self.failures.append(f"{child.name} died during the run:\n{child.log_tail()}")
        self.targets[target.name] = entry

    def measure_capped(self, target: Target, workers: int) -> None:
        """One run of CAPPED_CLIENTS clients, plain and streamed, with each worker process capped
        at CORES_EACH of a core: requests/s, how busy the machine was meanwhile, how often the
        caps held the workers back, and how the kernel spread the connections over the
        workers."""
        serving = cores.worker_processes(target.children[0].proc.pid, workers)
        port = int(target.base_url.rsplit(":", 1)[1])
        entry = self.capped.setdefault(
            target.name,
            {"workers": workers, "cores_each": CORES_EACH, "clients": CAPPED_CLIENTS, "runs": []},
        )
        runs: dict[str, Any] = {}
        for mode in report.MODES:
            script = self.workdir / f"{target.name}-{mode}.lua"
            self.settle(target)
            machine.quiet_busy_pct()
            with cores.capped(serving, CORES_EACH) as groups:
                self._run(target, mode, "capped-warm-up", script, CAPPED_CLIENTS, self.warmup)
                periods_before = [cores.throttled(group) for group in groups]
                counters = machine.cpu_counters()
                spread: dict[int, int] = {}
                peek = threading.Timer(
                    self.duration / 2,
                    lambda spread=spread: spread.update(connections_by_process(port, serving)),
                )
                peek.start()
                many = self._run(target, mode, "capped", script, CAPPED_CLIENTS, self.duration)
                peek.join()
                busy = machine.busy_pct_since(counters)
                periods = [
                    (after[0] - before[0], after[1] - before[1])
                    for before, after in zip(
                        periods_before, [cores.throttled(group) for group in groups], strict=True
                    )
                ]
            runs[mode] = {
                "wrk": many.as_dict(),
                "machine_busy_pct": busy,
                "throttled_pct_by_worker": [
                    round(100.0 * held / max(ran, 1), 1) for ran, held in periods
                ],
                "connections_by_worker": [spread.get(pid, 0) for pid in serving],
            }
            print(
                f"bench: {target.name:<17} {mode:<6} capped at {CORES_EACH:g} core each: "
                f"{many.requests_per_s:8.0f} req/s, machine {busy}% busy, connections by "
                f"worker {runs[mode]['connections_by_worker']}",
                flush=True,
            )
        entry["runs"].append(runs)

    def _run(
        self, target: Target, mode: str, label: str, script: Path, conns: int, seconds: float
    ) -> WrkResult:
        result, raw = run_wrk(
            self.wrk, target.chat_url, script, connections=conns, duration_s=seconds
        )
        (self.workdir / f"{target.name}-{mode}-{label}.wrk.txt").write_text(raw)
        self.served[target.name] += result.requests
        if result.failures:
            self.failures.append(
                f"{target.name} {mode} {label} ({conns} connections): {result.requests} requests, "
                f"{result.non_2xx} non-2xx responses, socket errors {result.socket_errors}"
            )
        return result

    def settle(self, target: Target) -> dict[str, Any] | None:
        """Lets the gateway's accounting catch up, so 1-client runs start without a backlog."""
        if target.database_url is None:
            return None
        return backlog.catch_up(target.database_url, self.served[target.name])

    def drain(self, target: Target) -> None:
        """How far the gateway's accounting (usage records) lags behind the requests served."""
        if target.database_url is not None:
            seen = backlog.catch_up(target.database_url, self.served[target.name])
            self.accounting[target.name] = seen
            print(f"bench: {target.name:<17} accounting: {backlog.describe(seen)}", flush=True)

    def scan_logs(self, target: Target) -> None:
        for child in target.children:
            self.log_problems[child.name] = logscan.problems(child.log_path)


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = _args(given)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks run
    wrk = ensure_wrk()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="fluxrouter-bench-"))
    procs = Processes(workdir)
    bench = Bench(wrk, workdir, args.duration)
    completed = False
    print(f"bench: {args.duration:g} s per measurement; logs in {workdir}", flush=True)
    litellm = litellm_bin()
    notes: list[str] = []
    capping = cores.unavailable()
    if capping is not None:
        notes.append(f"Workers were not measured capped at a share of a core each: {capping}.")
        print(f"bench: {notes[-1]}", flush=True)
    try:
        upstream = start_upstream(procs, "sk-upstream-" + secrets.token_urlsafe(24))
        bench.measure(upstream)
        bare = start_bare(procs, upstream)
        bench.measure(bare)
        for child in bare.children:  # leave the cores to the next target
            procs.stop(child)
        bench.scan_logs(bare)
        if litellm is not None:
            proxy = start_litellm(procs, workdir / "litellm", upstream, litellm)
            bench.measure(proxy)
            for child in proxy.children:
                procs.stop(child)
        else:
            notes.append(
                "LiteLLM was not measured: no `$LITELLM_BIN` and no "
                "`.bench-venvs/litellm/bin/litellm` (`make bench-litellm-venv` makes it)."
            )
            print(f"bench: {notes[-1]}", flush=True)
        with ExitStack() as kept:
            capped: list[tuple[Target, int]] = []  # measured capped in turn, at the end
            for shape, workers in GATEWAYS:
                workdir_of = workdir / f"{shape}-{workers}w"
                with ExitStack() as own:
                    target = own.enter_context(
                        gateway(procs, workdir_of, shape, upstream, workers=workers, limited=True)
                    )
                    bench.measure(target)
                    if shape == "postgres" and capping is None:
                        capped.append((target, workers))
                        kept.enter_context(own.pop_all())
                        continue
                    bench.drain(target)
                bench.scan_logs(target)
            for _ in range(CAPPED_ROUNDS):
                for target, workers in capped:
                    bench.measure_capped(target, workers)
            for target, _ in capped:
                bench.drain(target)
        for target, _ in capped:
            bench.scan_logs(target)
        bench.scan_logs(upstream)
        completed = True
    finally:
        procs.stop_all()
        if not completed:
            print(f"bench: FAILED; server logs kept in {workdir}", file=sys.stderr)
    results: dict[str, Any] = {
        "run": {
            "command": " ".join(["python -m tests.bench.run", *given]) if given else "make bench",
            "duration_s": args.duration,
            "warmup_s": bench.warmup,
            "wall_s": round(time.monotonic() - started, 1),
            "wrk": wrk_version(wrk),
        },
        "machine": machine.machine(),
        "versions": machine.versions() | {"wrk": wrk_version(wrk).removeprefix("wrk ")},
        "targets": bench.targets,
        "derived": report.derive(bench.targets),
        "ttfb": bench.ttfb,
        "capped": bench.capped,
        "capped_scaling": report.capped_scaling(bench.capped),
        "ttfb_added": ttfb.added(bench.ttfb, report.DIRECT) if report.DIRECT in bench.ttfb else {},
        "notes": notes,
        "accounting_backlog": bench.accounting,
        "failures": bench.failures,
        "server_log_problems": bench.log_problems,
    }
    table = report.write(args.out, results)
    made = plots.write_all(results, args.out)
    print("\n" + table)
    print(
        f"bench: wrote {args.out}/results.json, README.md and "
        f"{', '.join(p.name for p in made)} in {results['run']['wall_s']} s"
    )
    for name, entries in bench.log_problems.items():
        for entry in entries:
            print(f"bench: {name} logged {entry['count']} × {entry['summary']}", file=sys.stderr)
    if bench.failures:
        print("\nbench: FAILED REQUESTS (must be 0):", file=sys.stderr)
        for failure in bench.failures:
            print(f"  - {failure}", file=sys.stderr)
        print(f"bench: raw wrk output and server logs kept in {workdir}", file=sys.stderr)
        return 1
    if any(bench.log_problems.values()):
        print(f"bench: server logs kept in {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
