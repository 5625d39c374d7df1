"""Routing's cost on the request path: a model with three deployments (a key pool: three
provider entries, each with its own `rpm`, `tpm` and `weight`) chosen `weighted`, with retries
and a fallback configured and `routing.policies` evaluated on every request, against the same
gateway with one deployment and no routing settings, and the bare pass-through.

The fake OpenAI upstream (its own process) answers every deployment; no call fails, so the
figures are what choosing, counting and the policies cost, not retries. Each gateway is one
`fluxrouter serve` in the embedded shape (SQLite, no Redis) through a key with no limit; wrk runs
each row for `--duration` at 32 connections after a warm-up, once the gateway's accounting
caught up with the rows before it.

Usage: ``python -m tests.bench.routing [--duration 10s | --quick] [--out docs/benchmarks]``.
Writes ``routing.md`` and ``routing.json`` in ``--out``. Exits non-zero if a request failed, a
server died or a deployment was never chosen.
"""

from __future__ import annotations

import argparse
import copy
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.bench import backlog
from tests.bench.loadgen import ensure_wrk
from tests.bench.procs import Processes
from tests.bench.rows import Rows, footer, ratio_of
from tests.bench.run import _duration
from tests.bench.targets import (
    CHAT_PATH,
    MODEL,
    Target,
    gateway,
    request_body,
    start_bare,
    start_upstream,
)

ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = 32
POOL = ("openai", "openai-pool-2", "openai-pool-3")

POLICIES: list[dict[str, Any]] = [
    {
        "name": "baseline",
        "effects": {"max_tokens": 4096, "deny_models": ["o1*", "o3*"]},
        "continue": True,
    },
    {"name": "pii-stays-home", "match": {"tags": ["pii"]}, "effects": {"pin": "self_hosted"}},
    {
        "name": "interns",
        "match": {"team": "team_nobody", "model": "gpt-4*"},
        "effects": {"force_model": "gpt-4o-mini"},
    },
    {
        "name": "claude-not-on-the-pool",
        "match": {"model": "claude-*"},
        "effects": {"deny_providers": ["openai-pool-3"]},
    },
]


def with_routing(config: dict[str, Any]) -> None:
    """`MODEL` in three deployments of the fake upstream (one per provider entry of a key pool),
    retries, a fallback and the policies."""
    first = config["providers"][0]
    assert first["name"] == POOL[0]
    deployment = {"rpm": 10_000_000, "tpm": 10_000_000_000, "weight": 1}
    for model in first["models"]:
        if model["name"] == MODEL:
            model.update(deployment)
    entry = next(model for model in first["models"] if model["name"] == MODEL)
    for name in POOL[1:]:
        pooled = copy.deepcopy(first)
        pooled["name"] = name
        pooled["models"] = [dict(entry)]
        config["providers"].append(pooled)
    config["routing"] = {
        "strategy": "weighted",
        "retries": 2,
        "fallbacks": {MODEL: ["gpt-4o"]},
        "policies": POLICIES,
    }


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.routing", description=__doc__)
    parser.add_argument("--duration", type=_duration, default=10.0, help="per row (10s)")
    parser.add_argument("--quick", action="store_true", help="3 s per row")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = 3.0
    return args


def served_by_provider(database_url: str) -> dict[str, int]:
    """Calls recorded per provider (the deployment that served each)."""
    engine = sa.create_engine(backlog.sync_url(database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT provider, count(*) FROM usage_records GROUP BY provider")
            )
            return {str(provider): int(count) for provider, count in rows}
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = _args(given)
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="fluxrouter-bench-routing-"))
    procs = Processes(workdir)
    print(f"bench: routing, {args.duration:g} s per row; logs in {workdir}", flush=True)
    spread: dict[str, int] = {}
    bench = Rows(
        wrk,
        workdir,
        connections=CONNECTIONS,
        duration=args.duration,
        warmup=min(args.duration, 3.0),
    )
    rows, failures = bench.rows, bench.failures

    bare_url = ""

    def measure(what: str, url: str, stream: bool, key: str, target: Target | None) -> None:
        against = (bare_url, request_body(stream)) if target is not None else None
        bench.measure(what, url, request_body(stream), key, target, against=against, stream=stream)

    try:
        upstream = start_upstream(procs, "sk-upstream-" + secrets.token_urlsafe(24))
        bare = start_bare(procs, upstream)
        bare_url = bare.chat_url
        for stream in (False, True):
            kind = "streamed" if stream else "plain"
            measure(f"bare pass-through, {kind}", bare.chat_url, stream, "unused", None)
        for label, adjust in (
            ("gateway, one deployment, no routing settings", None),
            ("gateway, three deployments, retries, fallback, 4 policies", with_routing),
        ):
            with gateway(procs, workdir / f"g{len(rows)}", "sqlite", upstream, adjust=adjust) as g:
                for stream in (False, True):
                    kind = "streamed" if stream else "plain"
                    measure(f"{label}, {kind}", g.base_url + CHAT_PATH, stream, g.key, g)
                for child in g.children:
                    if not child.alive():
                        failures.append(f"{child.name} died:\n{child.log_tail()}")
                if adjust is not None and g.database_url is not None:
                    backlog.catch_up(g.database_url, bench.served[g.name])
                    spread = served_by_provider(g.database_url)
                    missing = [name for name in POOL if not spread.get(name)]
                    if missing:
                        failures.append(f"deployments never chosen: {missing} ({spread})")
    finally:
        procs.stop_all()
    return bench.write(
        args.out,
        "routing",
        command=" ".join(["python -m tests.bench.routing", *given]),
        duration=args.duration,
        report=report,
        calls_by_deployment=spread,
    )


def report(results: dict[str, Any]) -> str:
    run, rows = results["run"], results["rows"]
    bare = {row["stream"]: row["requests_per_s"] for row in rows if row["what"].startswith("bare")}
    one = {row["stream"]: row["requests_per_s"] for row in rows if "one deployment" in row["what"]}
    lines = [
        "# Routing on the request path",
        "",
        "Generated by `make bench` (`python -m tests.bench.routing`); every run overwrites this",
        "file and [`routing.json`](routing.json). Do not edit by hand.",
        "",
        "`gpt-4o-mini` declared under three providers of the fake OpenAI upstream (a key pool:",
        "each entry with its own `rpm`, `tpm` and `weight`), chosen `weighted`, with",
        "`retries: 2`, a fallback to `gpt-4o` and four `routing.policies` (a `continue` baseline",
        "capping `max_tokens` and denying model globs, a tag pin, a team's forced model, a model",
        "glob), against the same gateway with the model declared once and no `routing` section,",
        "and the bare pass-through (Litestar and aiohttp forwarding the bytes). No call fails:",
        "this is what choosing, counting and the policies cost. Each gateway is one",
        "`fluxrouter serve` in the embedded shape (SQLite, no Redis) through a key with no",
        f"limit. wrk, {CONNECTIONS} connections,",
        f"{run['duration_s']:g} s a row after a warm-up, in three turns each with a turn of the",
        "bare pass-through before it (the ratio is of the same turns: the machine's drift falls",
        "on both alike), each turn once the gateway's accounting caught up.",
        "",
        "| what | req/s | × bare | p50 ms | p99 ms | µs a request over one deployment | failed |",
        "| --- | --: | --: | --: | --: | --: | --: |",
    ]
    for row in rows:
        rps = row["requests_per_s"]
        found = ratio_of(row, bare.get(row["stream"]))
        ratio = f"{found:.2f}×" if found else "—"
        cost = "—"
        if "three deployments" in row["what"] and one.get(row["stream"]) and rps:
            cost = f"{1e6 / rps - 1e6 / one[row['stream']]:+.0f}"
        failed = row["non_2xx"] + sum(row["socket_errors"].values())
        lines.append(
            f"| {row['what']} | {rps:,.0f} | {ratio} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f}"
            f" | {cost} | {failed} |"
        )
    spread = results.get("calls_by_deployment") or {}
    if spread:
        shown = ", ".join(f"{name} {count:,}" for name, count in sorted(spread.items()))
        lines += ["", f"Calls served by each deployment of the pool: {shown}."]
    lines += [
        "",
        "The cost column is the difference in time a request takes at saturation (one over the",
        "requests a second) between the routed gateway and the one-deployment gateway, in the",
        "same run: the serving process is the busy core, so it is what routing adds to each",
        "request's CPU.",
        "",
        *footer(results),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"bench: routing done in {time.monotonic() - started:.0f} s", flush=True)
    sys.exit(code)
