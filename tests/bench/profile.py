"""Where a gateway request's CPU goes: CPU time per request, and a py-spy profile.

Starts the fake upstream and one gateway (`--shape postgres`: PostgreSQL + Redis + a worker,
the production shape; `sqlite`: the embedded default), with a key that has every budget and
rate limit (`--key on`, as in limits.py) or none (`--key off`). After a warm-up, wrk runs at
`--connections`; the CPU the gateway's processes spent from the start of the run until its
accounting (usage and audit rows) has caught up is divided by the requests served: the request
path and the background work each request causes, together. Other load on the machine changes
this figure far less than it changes latency. With `--py-spy`, a second run is sampled by
py-spy (`record --format raw`, attached to the serving process, pausing it for each sample)
and summarised: self time by package, inclusive time of the main steps, the busiest functions.
With `--cprofile PATH`, the gateway runs under cProfile (`FLUXROUTER_PROFILE`) and its stats
are written to PATH and summarised.

Usage: ``python -m tests.bench.profile [--shape postgres|sqlite] [--key on|off]
[--mode plain|stream] [--duration 10s] [--connections 32] [--workers 1] [--py-spy]
[--raw PATH]``. Prints markdown.
"""

from __future__ import annotations

import argparse
import io
import json
import pstats
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from infrastructure.observability.profiling import ENV as PROFILE_ENV
from tests.bench import cpu, flame, machine
from tests.bench.limits import LimitsBench
from tests.bench.loadgen import ensure_wrk, run_wrk, write_script
from tests.bench.procs import Processes
from tests.bench.run import _duration
from tests.bench.targets import gateway, request_body, start_upstream

BIN = Path(sys.executable).parent

IDLE_POOL_FRAME = "_worker (concurrent/futures/thread.py"
# Inclusive views: (label, fragment of a py-spy frame "func (file:line)").
STEPS: tuple[tuple[str, str], ...] = (
    ("HTTP server: uvicorn + httptools", "uvicorn/protocols/http/"),
    ("request middleware (request id, metrics, access log)", "interfaces/http/middleware.py"),
    ("the route handler (auth, decode, admit, call, answer)", "answer_chat (interfaces/"),
    ("  authenticate the key", "authenticate_secret (interfaces/http/openai/auth.py"),
    ("  decode and validate the body", "decode_body (interfaces/http/openai/decoding.py"),
    (
        "  admission (count tokens, one Redis script)",
        "admit (application/providers/completions/admit.py",
    ),
    ("    prompt token counting", "infrastructure/tokens/"),
    ("  the upstream call (aiohttp)", "chat (infrastructure/adapters/providers/openai.py"),
    ("  relaying a stream", "relay (application/providers/stream_relay.py"),
    ("settlement (one Redis script per batch)", "finish (application/billing/admission.py"),
    ("access log line", "log_request (infrastructure/observability/logging.py"),
    ("structlog (other log lines)", "structlog/"),
    ("metrics (prometheus_client)", "prometheus_client/"),
    (
        "recorder: batches to the outbox, and their waves",
        "_write (application/providers/recorder.py",
    ),
    ("bus: the batch's command and its waves", "MessageBus.handle (application/bus.py"),
    ("  billing: usage rows", "when_completion_finished_record_usage"),
    ("  audit: chained rows", "when_event_append_audit"),
    ("outbox relay: enqueue for the projections", "infrastructure/messaging/outbox_relay.py"),
    ("SQL (SQLAlchemy, driver)", "sqlalchemy/"),
    ("Redis (redis-py)", "redis/"),
)


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.profile", description=__doc__)
    parser.add_argument("--shape", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--key", choices=["on", "off"], default="on")
    parser.add_argument("--mode", choices=["plain", "stream"], default="plain")
    parser.add_argument("--duration", type=_duration, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1, help="CPU-per-request runs (1)")
    parser.add_argument("--py-spy", action="store_true", help="also sample one run with py-spy")
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    parser.add_argument(
        "--cprofile", type=Path, help="run the gateway under cProfile; write its stats here"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    return parser.parse_args(argv)


ACCOUNTING_PROCESS = "interfaces.accounting.child"


class Profiler:
    def __init__(self, bench: LimitsBench, key: str, script: Path, args: argparse.Namespace):
        self.bench, self.key, self.script, self.args = bench, key, script, args
        self.serve_pid = bench.target.children[0].proc.pid
        worker = [c for c in bench.target.children if c.name.startswith("worker")]
        self.worker_pid = worker[0].proc.pid if worker else None

    def wrk(self, connections: int, seconds: float) -> int:
        result, _ = run_wrk(
            self.bench.wrk,
            self.bench.target.chat_url,
            self.script,
            connections=connections,
            duration_s=seconds,
        )
        self.bench._count(self.key, result.requests)
        self.bench.in_flight_by_key[self.key] += connections
        if result.failures:
            raise RuntimeError(f"failed requests: {result}")
        return result.requests

    def cpu_run(self, upstream_pid: int) -> dict[str, Any]:
        self.bench.settle()
        pids = {"gateway": self.serve_pid, "upstream": upstream_pid}
        if self.worker_pid is not None:
            pids["worker"] = self.worker_pid
        # its accounting process, counted in the gateway's figure too (a child of the server)
        for child in cpu.named(self.serve_pid, ACCOUNTING_PROCESS):
            pids["of which accounting"] = child
        busy = machine.cpu_busy_pct(1.0)
        services = {"postgresql": "postgres", "redis": "redis-server"}
        before = {name: cpu.seconds(pid) for name, pid in pids.items()}
        before |= {name: cpu.seconds_by_command(c) for name, c in services.items()}
        started = time.monotonic()
        requests = self.wrk(self.args.connections, self.args.duration)
        ran = time.monotonic() - started
        caught = self.bench.settle()
        after = {name: cpu.seconds(pid) for name, pid in pids.items()}
        after |= {name: cpu.seconds_by_command(c) for name, c in services.items()}
        # the machine's PostgreSQL and Redis, whatever else uses them meanwhile
        per_request = {
            name: round(1e6 * (after[name] - before[name]) / max(requests, 1), 1) for name in after
        }
        return {
            "requests": requests,
            "requests_per_s": round(requests / ran, 1),
            "cpu_us_per_request": per_request,
            "catch_up_s": caught["catch_up_s"],
            "cpu_busy_before_pct": busy,
            "rss_mib": round(cpu.rss_bytes(self.serve_pid) / 2**20, 1),
        }

    def spy_run(self, raw: Path) -> list[tuple[list[str], int]]:
        self.bench.settle()
        seconds = int(self.args.duration)
        spy = subprocess.Popen(
            [
                str(BIN / "py-spy"),
                "record",
                "--pid",
                str(self.serve_pid),
                "--subprocesses",
                "--rate",
                "100",
                "--format",
                "raw",
                "--duration",
                str(seconds + 3),  # and the accounting that follows the load
                "--output",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(0.5)
        self.wrk(self.args.connections, seconds)
        _, err = spy.communicate(timeout=seconds + 30)
        if spy.returncode != 0 or not raw.exists():
            raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')}")
        return flame.read(raw)


def by_process(stacks: list[tuple[list[str], int]]) -> str:
    """A summary of the serving process, then one of its accounting process."""
    child: list[tuple[list[str], int]] = []
    serving: list[tuple[list[str], int]] = []
    for frames, count in stacks:
        ours = any(ACCOUNTING_PROCESS in frame for frame in frames[:3])
        (child if ours else serving).append((frames, count))
    parts = ["### The serving process", "", summary(serving)]
    if child:
        parts += ["", "### Its accounting process", "", summary(child)]
    return "\n".join(parts)


def summary(stacks: list[tuple[list[str], int]]) -> str:
    # A thread-pool thread woken to take the GIL looks busy to py-spy while it waits for work.
    idle = sum(count for frames, count in stacks if frames[-1].startswith(IDLE_POOL_FRAME))
    stacks = [(f, c) for f, c in stacks if not f[-1].startswith(IDLE_POOL_FRAME)]
    total = sum(count for _, count in stacks) or 1
    lines = [
        "Self time by package (innermost Python frame):",
        "",
        "| package | share |",
        "|---|--:|",
    ]
    for label, count in flame.self_by_package(stacks).most_common():
        lines.append(f"| {label} | {100 * count / total:.1f} % |")
    lines += ["", "Inclusive time of the steps:", "", "| step | share |", "|---|--:|"]
    found = flame.inclusive(stacks, STEPS)
    for label, _ in STEPS:
        lines.append(f"| {label} | {100 * found[label] / total:.1f} % |")
    lines += ["", "Busiest functions (self):", "", "| function | share |", "|---|--:|"]
    for label, count in flame.top_self_functions(stacks).items():
        lines.append(f"| `{label}` | {100 * count / total:.1f} % |")
    return "\n".join(lines) + (
        f"\n\n{total} samples at 100 Hz ({idle} more of an idle thread-pool thread left out).\n"
    )


def cprofile_summary(path: Path, lines: int = 45) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(lines)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = _args(given)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="fluxrouter-profile-"))
    procs = Processes(workdir)
    results: dict[str, Any] = {"command": "python -m tests.bench.profile " + " ".join(given)}
    try:
        upstream = start_upstream(procs, "sk-upstream-" + secrets.token_urlsafe(24))
        upstream_pid = upstream.children[0].proc.pid
        extra = {PROFILE_ENV: str(workdir / "gateway")} if args.cprofile else None
        with gateway(
            procs,
            workdir / args.shape,
            args.shape,
            upstream,
            workers=args.workers,
            extra_env=extra,
        ) as target:
            bench = LimitsBench(wrk, workdir, args.duration, target)
            with bench.admin() as admin:
                bench.set_up(admin)
            bench.wait_for_limits()
            script = write_script(
                workdir / "profile.lua",
                request_body(args.mode == "stream"),
                bench.keys[args.key].key,
            )
            profiler = Profiler(bench, args.key, script, args)
            profiler.wrk(32, 3.0)  # warm-up
            runs = [profiler.cpu_run(upstream_pid) for _ in range(args.rounds)]
            results["runs"] = runs
            for run in runs:
                print(json.dumps(run), flush=True)
            if args.py_spy:
                raw = args.raw or workdir / "profile.raw.txt"
                results["py_spy"] = by_process(profiler.spy_run(raw))
                print("\n" + results["py_spy"])
            for child in target.children:
                if not child.alive():
                    raise RuntimeError(f"{child.name} died:\n{child.log_tail()}")
    finally:
        procs.stop_all()
    if args.cprofile:
        dumps = sorted(workdir.glob("gateway.*.prof"))
        if not dumps:
            raise RuntimeError("the gateway wrote no cProfile stats")
        shutil.copy(dumps[-1], args.cprofile)
        print(cprofile_summary(args.cprofile))
    results["machine"] = machine.machine()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
