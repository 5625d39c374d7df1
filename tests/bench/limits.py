"""What the auth + budget + rate-limit checks add to a request, with Redis.

One gateway in the production shape (PostgreSQL + Redis + worker) and two keys, each in an org
and team of its own: "off" has no budget and no rate limit anywhere (the gateway skips the
budget ledger and the rate limiter: only auth and routing), "on" has a USD budget (month) on its
org, team and key, a token budget (day) on the key, and rpm/tpm limits on its key and team, all
too large to ever refuse. Every "on" request thus runs one script in Redis that takes its rate
limits and reserves against its budgets, and another that settles it. At 1 connection, one
client sends the two keys' requests in turn (a random order in each pair, `interleaved.py`), for
several parts, so that the machine's drift falls on both alike; then wrk runs each key at 32
connections.

Usage: ``python -m tests.bench.limits [--duration 10s | --quick] [--rounds 3]
[--out docs/benchmarks]``. Writes ``limits.md`` and ``limits.json`` in ``--out``. Exits non-zero
if a request failed, a server died, or the "on" key's spend does not settle to its usage.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import textwrap
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.bench import backlog, logscan, machine
from tests.bench.interleaved import alternate, percentile, raw_request
from tests.bench.loadgen import WrkResult, ensure_wrk, run_wrk, write_script, wrk_version
from tests.bench.procs import Processes
from tests.bench.run import _duration
from tests.bench.targets import (
    MAX_TOKENS_PER_DAY,
    MAX_USD,
    RELOAD_WAIT_S,
    RPM,
    TPM,
    Target,
    gateway,
    limit_calls,
    request_body,
    sanity_check,
    start_upstream,
)
from tests.support.tenants import Tenant, create_tenant

ROOT = Path(__file__).resolve().parents[2]
GOAL_P99_MS = 1.0
KEYS = ("off", "on")
SETTLE_TIMEOUT_S = 120.0
BUSY_PCT = 20.0

# Percentiles at microsecond resolution, from wrk's own histogram, after the run.
_LUA_DONE = """
done = function(summary, latency, requests)
  for _, p in ipairs({50, 99, 99.9}) do
    io.write(string.format("fluxbench p%g %.0f\\n", p, latency:percentile(p)))
  end
  io.write(string.format("fluxbench max %.0f\\n", latency.max))
end
"""
_LUA_LINE = re.compile(r"^fluxbench (p50|p99|p99\.9|max) (\d+)$", re.M)


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.limits", description=__doc__)
    parser.add_argument("--duration", type=_duration, default=10.0, help="per run (10s)")
    parser.add_argument("--quick", action="store_true", help="3 s per run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved parts at 1 connection (3)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = 3.0
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def _run_dict(result: WrkResult, raw: str) -> dict[str, Any]:
    """wrk's figures, with p50/p99/p99.9/max in ms from its histogram (microsecond resolution)."""
    found = {name: int(value) / 1000.0 for name, value in _LUA_LINE.findall(raw)}
    if set(found) != {"p50", "p99", "p99.9", "max"}:
        raise RuntimeError(f"could not read the percentiles from wrk's output:\n{raw}")
    exact = dataclasses.replace(result, p50_ms=found["p50"], p99_ms=found["p99"])
    return exact.as_dict() | {"p99_9_ms": found["p99.9"], "max_ms": found["max"]}


class LimitsBench:
    def __init__(self, wrk: str, workdir: Path, duration: float, target: Target) -> None:
        self.wrk, self.workdir, self.duration, self.target = wrk, workdir, duration, target
        self.warmup = min(duration, 3.0)
        self.keys: dict[str, Tenant] = {}
        self.scripts: dict[str, Path] = {}
        self.served = 0  # completed requests, both keys, for the accounting to catch up with
        self.served_by_key = dict.fromkeys(KEYS, 0)
        self.in_flight_by_key = dict.fromkeys(KEYS, 0)  # at most, when a wrk run stops
        self.failures: list[str] = []
        self.busy: list[dict[str, Any]] = []

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.target.base_url}/admin/v1",
            timeout=10,
            headers={"Authorization": f"Bearer {self.target.admin_key}"},
        )

    def set_up(self, admin: httpx.Client) -> dict[str, Any]:
        off = create_tenant(admin, "bench-limits-off")
        on = create_tenant(admin, "bench-limits-on")
        self.keys = {"off": off, "on": on}
        calls = limit_calls(on)
        for path, body in calls:
            answer = admin.put(path, json=body)
            if answer.status_code != 200:
                raise RuntimeError(f"PUT {path} -> {answer.status_code} {answer.text}")
        self._check_limits(admin)
        for name, tenant in self.keys.items():
            script = self.workdir / f"limits-{name}.lua"
            write_script(script, request_body(False), tenant.key)
            with script.open("a") as handle:
                handle.write(_LUA_DONE)
            self.scripts[name] = script
        return {
            "off": {"org": off.org_id, "team": off.team_id, "key": off.key_id},
            "on": {"org": on.org_id, "team": on.team_id, "key": on.key_id},
            "on_limits": {path: body for path, body in calls},
        }

    def _check_limits(self, admin: httpx.Client) -> None:
        """What the admin API says back: nothing at all on "off", everything on "on"."""
        off, on = self.keys["off"], self.keys["on"]
        for scope, scope_id in (("orgs", off.org_id), ("teams", off.team_id), ("keys", off.key_id)):
            spend = _get(admin, f"/{scope}/{scope_id}/spend")
            limited = [p for p in spend["periods"] if p["max_usd"] or p["max_tokens"]]
            if spend["rpm"] is not None or spend["tpm"] is not None or limited:
                raise RuntimeError(f'the "off" {scope[:-1]} has limits: {spend}')
        key = _get(admin, f"/keys/{on.key_id}/spend")
        team = _get(admin, f"/teams/{on.team_id}/spend")
        org = _get(admin, f"/orgs/{on.org_id}/spend")
        expected = [
            (key["rpm"], RPM),
            (key["tpm"], TPM),
            (team["rpm"], RPM),
            (team["tpm"], TPM),
            (_period(key, "month")["max_usd"], MAX_USD),
            (_period(key, "day")["max_tokens"], MAX_TOKENS_PER_DAY),
            (_period(team, "month")["max_usd"], MAX_USD),
            (_period(org, "month")["max_usd"], MAX_USD),
        ]
        for got, want in expected:
            if got is None or Decimal(str(got)) != Decimal(str(want)):
                raise RuntimeError(f'the "on" limits did not take: {key} {team} {org}')

    def wait_for_limits(self) -> None:
        """Until the gateway applies the limits: "on" answers with x-ratelimit-* headers."""
        time.sleep(RELOAD_WAIT_S)
        for name, tenant in self.keys.items():
            sanity_check(dataclasses.replace(self.target, name=f"key-{name}", key=tenant.key))
            self._count(name, 2)
        deadline = time.monotonic() + 15
        while True:
            headers = {name: self._probe(name) for name in KEYS}
            if headers["off"]:
                raise RuntimeError(f'the "off" key is rate limited: {headers["off"]}')
            if headers["on"]:
                return
            if time.monotonic() > deadline:
                raise RuntimeError('the gateway did not apply the "on" limits within 18 s')
            time.sleep(0.5)

    def _probe(self, name: str) -> dict[str, str]:
        answer = httpx.post(
            self.target.chat_url,
            content=request_body(False),
            headers={
                "Authorization": f"Bearer {self.keys[name].key}",
                "Content-Type": "application/json",
            },
            timeout=30,
        )
        if answer.status_code != 200:
            raise RuntimeError(f"{name} key: chat -> {answer.status_code} {answer.text}")
        self._count(name, 1)
        return {k: v for k, v in answer.headers.items() if k.lower().startswith("x-ratelimit-")}

    def _count(self, name: str, requests: int) -> None:
        self.served += requests
        self.served_by_key[name] += requests

    def settle(self) -> dict[str, Any]:
        """Lets the accounting catch up, so no run starts with the previous one's backlog."""
        assert self.target.database_url is not None
        return backlog.catch_up(self.target.database_url, self.served)

    def note_busy(self, label: str) -> float:
        busy = machine.cpu_busy_pct()
        self.busy.append({"before": label, "cpu_busy_pct": busy, "loadavg": os.getloadavg()})
        if busy > BUSY_PCT:
            print(f"bench: WARNING the machine is {busy}% busy before {label}", flush=True)
        return busy

    def run(self, name: str, label: str, connections: int, seconds: float) -> dict[str, Any]:
        result, raw = run_wrk(
            self.wrk,
            self.target.chat_url,
            self.scripts[name],
            connections=connections,
            duration_s=seconds,
        )
        (self.workdir / f"limits-{name}-{label}.wrk.txt").write_text(raw)
        self._count(name, result.requests)
        self.in_flight_by_key[name] += connections
        if result.failures:
            self.failures.append(
                f"{name} {label} ({connections} connections): {result.requests} requests, "
                f"{result.non_2xx} non-2xx responses, socket errors {result.socket_errors}"
            )
        figures = _run_dict(result, raw)
        print(
            f"bench: {label:<8} {name:<3} {connections:>2} conn p50 {figures['p50_ms']:6.3f} ms "
            f"p99 {figures['p99_ms']:6.3f} ms p99.9 {figures['p99_9_ms']:6.3f} ms "
            f"{figures['requests_per_s']:8.0f} req/s",
            flush=True,
        )
        return figures

    def measure(self, rounds: int) -> dict[str, Any]:
        self.note_busy("warm-up")
        for name in KEYS:
            self.run(name, "warm-up", 32, self.warmup)
        requests = {
            name: raw_request(self.target.chat_url, request_body(False), tenant.key)
            for name, tenant in self.keys.items()
        }
        out: dict[str, Any] = {"rounds": [], "c32": {}}
        pooled: dict[str, list[float]] = {name: [] for name in KEYS}
        for number in range(1, rounds + 1):
            self.settle()
            busy = self.note_busy(f"part {number}")
            timings = alternate(self.target.chat_url, requests, self.duration, seed=number)
            for name in KEYS:
                self._count(name, len(timings.latencies[name]))
                pooled[name] += timings.latencies[name]
            self.failures += [f"part {number}: {failure}" for failure in timings.failures[:5]]
            entry: dict[str, Any] = {"round": number, "cpu_busy_pct": busy}
            entry |= {name: _figures(timings.latencies[name], self.duration) for name in KEYS}
            entry["diff"] = _diff(entry)
            print(
                f"bench: part {number}: off p50 {entry['off']['p50_ms']:.3f} p99 "
                f"{entry['off']['p99_ms']:.3f}, on p50 {entry['on']['p50_ms']:.3f} p99 "
                f"{entry['on']['p99_ms']:.3f} ms (Δ p99 {entry['diff']['p99_ms']:+.3f})",
                flush=True,
            )
            out["rounds"].append(entry)
        out["pooled"] = {name: _figures(pooled[name], self.duration * rounds) for name in KEYS}
        out["pooled"]["diff"] = _diff(out["pooled"])
        self.settle()
        self.note_busy("32 connections")
        for name in KEYS:
            self.settle()
            out["c32"][name] = self.run(name, "c32", 32, self.duration)
        return out

    def accounting(self, admin: httpx.Client) -> dict[str, Any]:
        """Once settled, the "on" key holds no reservation and its spend is its usage."""
        on = self.keys["on"]
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while True:
            state = _spend_state(admin, on)
            served = self.served_by_key["on"]
            expected = (served, served + self.in_flight_by_key["on"])
            problems = _spend_problems(state, expected)
            if not problems or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        state["requests_expected"] = list(expected)
        rows = [row for spend in state["spend"].values() for row in spend["periods"]]
        state["reserved"] = {
            "usd": str(sum(Decimal(row["reserved_usd"]) for row in rows)),
            "tokens": sum(row["reserved_tokens"] for row in rows),
        }
        state["problems"] = problems
        self.failures += [f"accounting: {problem}" for problem in problems]
        return state


def _figures(latencies: list[float], seconds: float) -> dict[str, Any]:
    """Percentiles in ms of latencies in seconds, and the rate they came at."""
    ordered = sorted(latencies)
    figures = {
        f"{label}_ms": round(1000 * percentile(ordered, q), 3)
        for label, q in (("p50", 50), ("p99", 99), ("p99_9", 99.9))
    }
    return figures | {
        "max_ms": round(1000 * ordered[-1], 3),
        "requests": len(ordered),
        "requests_per_s": round(len(ordered) / seconds, 1),
    }


def _diff(entry: dict[str, Any]) -> dict[str, float]:
    return {m: round(entry["on"][m] - entry["off"][m], 3) for m in ("p50_ms", "p99_ms", "p99_9_ms")}


def _get(admin: httpx.Client, path: str, **params: str) -> dict[str, Any]:
    answer = admin.get(path, params=params)
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path} -> {answer.status_code} {answer.text}")
    body: dict[str, Any] = answer.json()
    return body


def _period(spend: dict[str, Any], period: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in spend["periods"] if p["period"] == period)
    return found


def _spend_state(admin: httpx.Client, on: Tenant) -> dict[str, Any]:
    usage = _get(admin, "/usage", group_by="key", org_id=on.org_id)
    row = next((r for r in usage["rows"] if r["key"] == on.key_id), None)
    return {
        "spend": {
            "key": _get(admin, f"/keys/{on.key_id}/spend"),
            "team": _get(admin, f"/teams/{on.team_id}/spend"),
            "org": _get(admin, f"/orgs/{on.org_id}/spend"),
        },
        "usage": row,
    }


def _spend_problems(state: dict[str, Any], expected: tuple[int, int]) -> list[str]:
    problems: list[str] = []
    for scope, spend in state["spend"].items():
        for row in spend["periods"]:
            if Decimal(row["reserved_usd"]) != 0 or row["reserved_tokens"] != 0:
                problems.append(
                    f"{scope} {row['period']} still holds a reservation: "
                    f"${row['reserved_usd']}, {row['reserved_tokens']} tokens"
                )
    usage = state["usage"]
    if usage is None:
        return [*problems, 'no usage recorded for the "on" key']
    low, high = expected
    if not low <= usage["requests"] <= high:
        problems.append(f"usage has {usage['requests']} requests, not {low} to {high}")
    spent = _period(state["spend"]["key"], "total")
    tokens = usage["input_tokens"] + usage["output_tokens"]
    if spent["spent_tokens"] != tokens:
        problems.append(f"spent {spent['spent_tokens']} tokens, usage says {tokens}")
    if Decimal(spent["spent_usd"]) != Decimal(usage["cost_usd"]):
        problems.append(f"spent ${spent['spent_usd']}, usage says ${usage['cost_usd']}")
    if Decimal(spent["spent_usd"]) <= 0:
        problems.append("nothing was charged")
    return problems


def summarise(measured: dict[str, Any], busy: list[dict[str, Any]]) -> dict[str, Any]:
    """The pooled Δ (every part's requests together) and how much the parts' Δ p99 differ.

    The verdict stands when the parts agree more closely than the pooled Δ p99 is from the
    goal (noise of that size could not flip it) and the machine was not busy with other work."""
    pooled = measured["pooled"]["diff"]
    part_p99 = [r["diff"]["p99_ms"] for r in measured["rounds"]]
    spread = round(max(part_p99) - min(part_p99), 3)
    busiest = max(b["cpu_busy_pct"] for b in busy)
    c32 = measured["c32"]
    ratio = c32["on"]["requests_per_s"] / c32["off"]["requests_per_s"]
    if busiest > BUSY_PCT or (len(part_p99) > 1 and spread >= abs(pooled["p99_ms"] - GOAL_P99_MS)):
        status = "inconclusive"
    else:
        status = "within" if pooled["p99_ms"] <= GOAL_P99_MS else "over"
    return {
        "pooled_diff_ms": pooled,
        "part_diff_p99_ms": part_p99,
        "part_diff_p99_spread_ms": spread,
        "cpu_busy_max_pct": busiest,
        "c32_throughput_ratio_on_vs_off": round(ratio, 3),
        "goal_p99_ms": GOAL_P99_MS,
        "status": status,
    }


def verdict(summary: dict[str, Any], rounds: int) -> str:
    pooled = summary["pooled_diff_ms"]
    added = (
        f"The checks add {pooled['p99_ms']:+.2f} ms at p99 and {pooled['p50_ms']:+.2f} ms at p50 "
        f"(1 connection, the two keys in turn, {rounds} parts pooled)"
    )
    if summary["status"] == "inconclusive":
        return (
            f"{added}, but this run was too noisy to judge against the {GOAL_P99_MS:g} ms p99 "
            f"goal (the parts' Δ p99 differed by {summary['part_diff_p99_spread_ms']:.2f} ms; "
            f"the machine was up to {summary['cpu_busy_max_pct']:g}% busy with the servers "
            "idle): run it again on a quiet machine."
        )
    within = "within" if summary["status"] == "within" else "OVER"
    return f"{added}: {within} the {GOAL_P99_MS:g} ms p99 goal."


def _ms(value: float) -> str:
    return f"{value:.3f}"


def _para(*sentences: str) -> list[str]:
    return [*textwrap.wrap(" ".join(sentences), 92, break_on_hyphens=False), ""]


def markdown(results: dict[str, Any]) -> str:
    run, m, summary = results["run"], results["machine"], results["summary"]
    rounds, c32 = results["measured"]["rounds"], results["measured"]["c32"]
    lines = [
        "# What the budget and rate-limit checks cost",
        "",
        *_para(
            "Generated by `make bench` (`.venv/bin/python -m tests.bench.limits`); every run",
            "overwrites this file and [`limits.json`](limits.json) (raw numbers). Do not edit",
            "by hand.",
        ),
        f"**{results['verdict']}**",
        "",
        "## What is measured",
        "",
        *_para(
            "One gateway in the production shape (`fluxrouter serve`, PostgreSQL, Redis, a",
            "`fluxrouter worker`), calling the fake OpenAI upstream",
            "(`tests/fakes/openai_upstream/`), and two virtual keys, each in an org and team",
            "of its own:",
        ),
        "* **off**: no budget and no rate limit anywhere: the gateway skips the budget ledger",
        "  and the rate limiter, so a request costs auth and routing only.",
        *textwrap.wrap(
            f"* **on**: a US-dollar budget for the month (${MAX_USD}) on its org, its team and "
            f"the key, a token budget for the day ({MAX_TOKENS_PER_DAY:,}) on the key, and rate "
            f"limits ({RPM:,} rpm, {TPM:,} tpm) on the key and the team, all too large to "
            "refuse. Each request estimates its prompt tokens and runs one script in Redis "
            "that takes its rate limits and reserves against its budgets (four windows); "
            "once it is answered, another settles it, beside the next requests.",
            92,
            subsequent_indent="  ",
        ),
        "",
        *_para(
            "Load: plain (non-streamed) `POST /v1/chat/completions` to `gpt-4o-mini`. After a",
            f"{run['warmup_s']:g} s warm-up of each key at 32 connections ({run['wrk']}),",
            f"{len(rounds)} parts of {run['duration_s']:g} s at 1 connection: one client",
            "(`tests/bench/interleaved.py`, a blocking socket on one keep-alive connection)",
            "sends one request of each key, in a random order, then the next pair, and times",
            "each to its full response; the gateway sees one request at a time. Whatever else",
            "the machine does falls on both keys alike, so Δ = on − off is what the checks",
            "cost, not the drift between two runs. Each part starts once the gateway's",
            "accounting has caught up. Then one wrk run of each key at 32 connections",
            "(`wrk -t2 -c32`). Latencies in ms.",
        ),
        "## 1 connection, the keys in turn",
        "",
        "| Part | off p50 | on p50 | Δ p50 | off p99 | on p99 | Δ p99 | off p99.9 | on p99.9 "
        "| Δ p99.9 | requests per key |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    pooled = results["measured"]["pooled"]
    for label, r in [*((str(r["round"]), r) for r in rounds), ("**all**", pooled)]:
        off, on, diff = r["off"], r["on"], r["diff"]
        lines.append(
            f"| {label} | {_ms(off['p50_ms'])} | {_ms(on['p50_ms'])} | {diff['p50_ms']:+.3f} "
            f"| {_ms(off['p99_ms'])} | {_ms(on['p99_ms'])} | {diff['p99_ms']:+.3f} "
            f"| {_ms(off['p99_9_ms'])} | {_ms(on['p99_9_ms'])} | {diff['p99_9_ms']:+.3f} "
            f"| {min(off['requests'], on['requests']):,} |"
        )
    lines += [
        "",
        *_para(
            f"All parts pooled: Δ p50 **{pooled['diff']['p50_ms']:+.3f} ms**, Δ p99",
            f"**{pooled['diff']['p99_ms']:+.3f} ms**, Δ p99.9 {pooled['diff']['p99_9_ms']:+.3f}",
            f"ms. The parts' Δ p99 differ by {summary['part_diff_p99_spread_ms']:.3f} ms.",
        ),
        "## 32 connections",
        "",
        "| Key | req/s | p50 | p99 | p99.9 |",
        "|---|--:|--:|--:|--:|",
    ]
    for name in KEYS:
        figures = c32[name]
        lines.append(
            f"| {name} | {figures['requests_per_s']:,.0f} | {_ms(figures['p50_ms'])} "
            f"| {_ms(figures['p99_ms'])} | {_ms(figures['p99_9_ms'])} |"
        )
    lines += [
        "",
        f"Throughput on / off: **{summary['c32_throughput_ratio_on_vs_off']:.2f}×**.",
        "",
        "## Accounting after the run",
        "",
        *_accounting(results["accounting"]),
    ]
    busy = ", ".join(f"{b['before']} {b['cpu_busy_pct']}%" for b in results["cpu_busy"])
    lines += [
        "## Machine",
        "",
        f"* CPUs (`nproc`): {m['nproc']}, {m['cpu_model']}",
        f"* Memory: {m['memory_gib']} GiB",
        f"* Python {m['python']}, Linux {m['kernel']}",
        f"* Date: {m['date']}",
        f"* Command: `{run['command']}` ({run['wall_s']:.0f} s wall time for this run)",
        *textwrap.wrap(
            "* CPU busy with the servers idle, just before each step (anything above a few "
            f"percent is other work on the machine): {busy}",
            92,
            subsequent_indent="  ",
        ),
        "",
        *_para(
            "wrk, the fake upstream, the gateway, its worker, PostgreSQL and Redis share the",
            "same cores; compare the two keys within one run, not across machines.",
        ),
    ]
    if results["failures"]:
        lines += ["## ⚠ Failures", ""] + [f"* {f}" for f in results["failures"]] + [""]
    logs = {k: v for k, v in results["server_log_problems"].items() if v}
    if logs:
        lines += ["## Warnings and errors logged by the servers", ""]
        for name, entries in logs.items():
            lines += [f"**{name}**", "", "```"]
            lines += [f"{e['count']:>6} × {e['summary']}" for e in entries] + ["```", ""]
    return "\n".join(lines)


def _accounting(accounting: dict[str, Any]) -> list[str]:
    usage, reserved = accounting["usage"], accounting["reserved"]
    lines: list[str] = []
    if usage is not None:
        spent = _period(accounting["spend"]["key"], "total")
        low, high = accounting["requests_expected"]
        lines += _para(
            f'The "on" key: {usage["requests"]:,} requests in the usage read model (wrk',
            f"completed {low:,}, warm-ups and sanity checks included, and stopped with up to",
            f"{high - low:,} more in flight); spent ${spent['spent_usd']} and",
            f"{spent['spent_tokens']:,} tokens, against a usage of ${usage['cost_usd']} and",
            f"{usage['input_tokens'] + usage['output_tokens']:,} tokens; reserved once settled,",
            f"on the key, its team and its org: ${reserved['usd']} and {reserved['tokens']:,}",
            "tokens.",
        )
    if accounting["problems"]:
        lines += ["**Problems:**", ""] + [f"* {p}" for p in accounting["problems"]] + [""]
    return lines


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = _args(given)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks run
    wrk = ensure_wrk()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="fluxrouter-bench-limits-"))
    procs = Processes(workdir)
    print(f"bench: limits, {args.duration:g} s per run; logs in {workdir}", flush=True)
    completed = False
    log_problems: dict[str, Any] = {}
    try:
        upstream = start_upstream(procs, "sk-upstream-" + secrets.token_urlsafe(24))
        with gateway(procs, workdir / "postgres", "postgres", upstream) as target:
            bench = LimitsBench(wrk, workdir, args.duration, target)
            with bench.admin() as admin:
                keys = bench.set_up(admin)
                bench.wait_for_limits()
                measured = bench.measure(args.rounds)
                for child in target.children:
                    if not child.alive():
                        bench.failures.append(f"{child.name} died:\n{child.log_tail()}")
                accounting = bench.accounting(admin)
        for child in [*target.children, *upstream.children]:
            log_problems[child.name] = logscan.problems(child.log_path)
        completed = True
    finally:
        procs.stop_all()
        if not completed:
            print(f"bench: FAILED; server logs kept in {workdir}", file=sys.stderr)
    summary = summarise(measured, bench.busy)
    command = " ".join(["python -m tests.bench.limits", *given])
    results: dict[str, Any] = {
        "run": {
            "command": command,
            "duration_s": args.duration,
            "warmup_s": bench.warmup,
            "rounds": args.rounds,
            "wall_s": round(time.monotonic() - started, 1),
            "wrk": wrk_version(wrk),
        },
        "machine": machine.machine(),
        "cpu_busy": bench.busy,
        "keys": keys,
        "measured": measured,
        "summary": summary,
        "verdict": verdict(summary, args.rounds),
        "accounting": accounting,
        "failures": bench.failures,
        "server_log_problems": log_problems,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "limits.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "limits.md").write_text(markdown(results))
    print(f"\nbench: {results['verdict']}")
    print(f"bench: wrote {args.out}/limits.md and limits.json in {results['run']['wall_s']} s")
    if bench.failures:
        print("\nbench: FAILED (must be none):", file=sys.stderr)
        for failure in bench.failures:
            print(f"  - {failure}", file=sys.stderr)
        print(f"bench: raw wrk output and server logs kept in {workdir}", file=sys.stderr)
        return 1
    if any(log_problems.values()):
        print(f"bench: server logs kept in {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
