"""This checkout's gateway against another checkout's, measured in turn: did a change cost
requests/s?

Usage: ``python -m tests.bench.against OTHER_VENV_BIN [--shape sqlite|postgres] [--rounds 3]``,
where OTHER_VENV_BIN is the `bin` folder of another checkout's `.venv` (`make install` there;
`git worktree add ../before REV` makes one). The fake upstream, the bare pass-through and both
gateways run at once, each with one virtual key; wrk (32 clients, 8 s) is pointed at the bare
pass-through, this gateway and the other in turn, round after round, plain and then streamed, so
that the machine's drift falls on all three alike. Prints each run and the means: requests/s,
each gateway's as a share of the bare pass-through's, the median latency it adds to the bare
pass-through's, and its CPU per request (user + system, its whole process tree, accounting
child included).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from tests.bench import cpu, targets
from tests.bench.loadgen import ensure_wrk, run_wrk, write_script
from tests.bench.procs import Processes
from tests.bench.targets import gateway, request_body, start_bare, start_upstream

CLIENTS = 32
SECONDS = 8.0


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.against", description=__doc__)
    parser.add_argument("other", type=Path, help="the other checkout's .venv/bin")
    parser.add_argument("--shape", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="fluxrouter-against-"))
    procs = Processes(workdir)
    this_bin = targets.BIN
    served: dict[tuple[str, str], list[float]] = {}
    p50: dict[tuple[str, str], list[float]] = {}
    cpu_us: dict[tuple[str, str], list[float]] = {}
    try:
        upstream = start_upstream(procs, "sk-" + secrets.token_hex(16))
        bare = start_bare(procs, upstream)
        with gateway(procs, workdir / "this", args.shape, upstream) as this:
            targets.BIN = args.other  # `gateway` starts `fluxrouter` from this folder
            try:
                with gateway(procs, workdir / "other", args.shape, upstream) as other:
                    targets.BIN = this_bin
                    runs = (("bare", bare, "unused"), ("this", this, this.key))
                    runs += (("other", other, other.key),)
                    for mode in ("plain", "stream"):
                        body = request_body(mode == "stream")
                        for round_ in range(args.rounds):
                            for name, target, key in runs:
                                script = write_script(workdir / f"{name}-{mode}.lua", body, key)
                                time.sleep(2)  # what the previous run left to finish
                                pids = [child.proc.pid for child in target.children]
                                used = sum(cpu.seconds(pid) for pid in pids)
                                result, _ = run_wrk(
                                    wrk,
                                    target.chat_url,
                                    script,
                                    connections=CLIENTS,
                                    duration_s=SECONDS,
                                )
                                used = sum(cpu.seconds(pid) for pid in pids) - used
                                per_request = used / max(result.requests, 1) * 1e6
                                served.setdefault((mode, name), []).append(result.requests_per_s)
                                p50.setdefault((mode, name), []).append(result.p50_ms)
                                cpu_us.setdefault((mode, name), []).append(per_request)
                                print(
                                    f"against: {mode:6} round {round_ + 1} {name:5} "
                                    f"{result.requests_per_s:8.0f} req/s, p50 "
                                    f"{result.p50_ms:6.2f} ms, {per_request:6.0f} µs CPU/request",
                                    flush=True,
                                )
            finally:
                targets.BIN = this_bin
    finally:
        procs.stop_all()
    for mode in ("plain", "stream"):
        bare_mean = statistics.fmean(served[(mode, "bare")])
        bare_p50 = statistics.median(p50[(mode, "bare")])
        for name in ("this", "other"):
            mean = statistics.fmean(served[(mode, name)])
            added = statistics.median(p50[(mode, name)]) - bare_p50
            print(
                f"against: {mode:6} {name:5} mean {mean:8.0f} req/s, "
                f"{mean / bare_mean:.2f}x the bare pass-through's {bare_mean:.0f}; "
                f"p50 +{added:.2f} ms over it; "
                f"{statistics.median(cpu_us[(mode, name)]):.0f} µs CPU/request"
            )


if __name__ == "__main__":
    main()
