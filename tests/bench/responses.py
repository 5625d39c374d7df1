"""`/v1/responses` against the bare pass-through: what the Responses front door costs, plain and
streamed, passed natively to an OpenAI upstream and translated through chat.

The fake OpenAI upstream, the bare pass-through (forwarding `/v1/responses` to the upstream's)
and one gateway in the embedded shape (SQLite, one process) through a key with no limit. wrk
runs each row for `--duration` at 32 connections (as `tests.bench.run`), after a warm-up, each
gateway row once the gateway's accounting caught up with the rows before it: the bare
pass-through to the upstream's `/v1/responses`; the gateway's `/v1/responses` to an `openai`
model (native, every response stored) and to an `openai-compatible` one (translated to chat
and back, stored); and, for scale, the gateway's `/v1/chat/completions`.

Usage: ``python -m tests.bench.responses [--duration 10s | --quick] [--out docs/benchmarks]``.
Writes ``responses.md`` and ``responses.json`` in ``--out``. Exits non-zero if a request failed
or a server died.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.loadgen import ensure_wrk
from tests.bench.procs import Processes
from tests.bench.rows import Rows, footer, ratio_table
from tests.bench.run import _duration
from tests.bench.targets import PROMPT, gateway, start_bare, start_upstream

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 32  # as the main bench's many-clients runs


def body(model: str, *, stream: bool, chat: bool = False, store: bool = True) -> bytes:
    asked: dict[str, Any] = {"model": model}
    if not store:
        asked["store"] = False
    if chat:
        asked["messages"] = [{"role": "user", "content": PROMPT}]
    else:
        asked["input"] = PROMPT
    if stream:
        asked["stream"] = True
    return json.dumps(asked, separators=(",", ":")).encode()


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.responses", description=__doc__)
    parser.add_argument("--duration", type=_duration, default=10.0, help="per row (10s)")
    parser.add_argument("--quick", action="store_true", help="3 s per row")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = 3.0
    return args


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = _args(given)
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="fluxrouter-bench-responses-"))
    procs = Processes(workdir)
    print(f"bench: responses, {args.duration:g} s per row; logs in {workdir}", flush=True)
    bench = Rows(
        wrk,
        workdir,
        connections=CONNECTIONS,
        duration=args.duration,
        warmup=min(args.duration, 3.0),
    )
    measure, failures = bench.measure, bench.failures

    try:
        upstream = start_upstream(procs, "sk-upstream-" + secrets.token_urlsafe(24))
        bare = start_bare(procs, upstream)
        for stream in (False, True):
            kind = "streamed" if stream else "plain"
            measure(
                f"bare pass-through, `/v1/responses`, {kind}",
                bare.base_url + "/v1/responses",
                body("gpt-4o-mini", stream=stream),
                "unused",
            )
        with gateway(procs, workdir / "sqlite", "sqlite", upstream) as target:
            for stream in (False, True):
                kind = "streamed" if stream else "plain"
                against = (bare.base_url + "/v1/responses", body("gpt-4o-mini", stream=stream))
                measure(
                    f"gateway, `/v1/responses`, native (openai), {kind}",
                    target.base_url + "/v1/responses",
                    body("gpt-4o-mini", stream=stream),
                    target.key,
                    target,
                    against=against,
                )
                measure(
                    f"gateway, `/v1/responses`, native (openai), `store: false`, {kind}",
                    target.base_url + "/v1/responses",
                    body("gpt-4o-mini", stream=stream, store=False),
                    target.key,
                    target,
                    against=against,
                )
                measure(
                    f"gateway, `/v1/responses`, translated (openai-compatible), {kind}",
                    target.base_url + "/v1/responses",
                    body("llama3.1", stream=stream),
                    target.key,
                    target,
                    against=against,
                )
                measure(
                    f"gateway, `/v1/chat/completions`, {kind}",
                    target.base_url + "/v1/chat/completions",
                    body("gpt-4o-mini", stream=stream, chat=True),
                    target.key,
                    target,
                    against=against,
                )
            for child in target.children:
                if not child.alive():
                    failures.append(f"{child.name} died:\n{child.log_tail()}")
    finally:
        procs.stop_all()
    return bench.write(
        args.out,
        "responses",
        command=" ".join(["python -m tests.bench.responses", *given]),
        duration=args.duration,
        report=report,
    )


def report(results: dict[str, Any]) -> str:
    run = results["run"]
    lines = [
        "# `/v1/responses` against the bare pass-through",
        "",
        "Generated by `make bench` (`python -m tests.bench.responses`); every run overwrites",
        "this file and [`responses.json`](responses.json). Do not edit by hand.",
        "",
        f"wrk, {CONNECTIONS} connections, {run['duration_s']:g} s a row after a warm-up, in three",
        "turns each with a turn of the bare pass-through before it (the ratio is of the same",
        "turns: the machine's drift falls on both alike), each turn once the gateway's",
        "accounting caught up, against",
        "the fake OpenAI upstream (its own process, answering 20 words: one SSE event each when",
        "streamed). The gateway is one `fluxrouter serve` process in the embedded shape (SQLite,",
        "no Redis) through a key with no limit; every response it answers is stored",
        "(`store` defaults to true). The bare pass-through is Litestar and aiohttp forwarding",
        "the bytes, nothing else.",
        "",
        *ratio_table(results),
    ]
    lines += [
        "",
        *footer(results),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"bench: responses done in {time.monotonic() - started:.0f} s", flush=True)
    sys.exit(code)
