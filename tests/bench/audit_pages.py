"""How fast `GET /admin/v1/audit` answers with a million rows in the audit log.

Usage: ``python -m tests.bench.audit_pages [--rows 1000000] [--pages 300] [--out docs/benchmarks]``.

Fills a fresh PostgreSQL database with ``--rows`` rows of one valid hash chain
(`tests/bench/audit_rows.py`), starts `fluxrouter serve` on it, waits for the gateway to settle,
then asks for pages of 100 rows, one request at a time over one keep-alive connection: the first
page, pages deep in the log, and pages filtered by actor, action, target and time window, each
both as a first page (repeated) and page after page with `next_after_seq`. Writes ``audit.md``
in ``--out``.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from domains.audit.chain import format_ts
from migrations.runner import upgrade
from tests.bench import machine
from tests.bench.audit_rows import SPAN, START, Population, fill
from tests.support.gateway import GatewayProcess
from tests.support.services import postgres_database

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 100
FIRST_PAGE_REPEATS = 30
SETTLE_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Query:
    name: str
    filters: dict[str, str]


def _queries(rows: int, population: Population) -> list[Query]:
    def at(days: float) -> str:
        return format_ts(START + SPAN * (days / 30))

    def window(days: float, length: timedelta) -> tuple[str, str]:
        return at(days), format_ts(START + SPAN * (days / 30) + length)

    hour, day, week = (
        window(15.5, timedelta(hours=1)),
        window(26, timedelta(days=1)),
        window(17, timedelta(days=7)),
    )
    busy_key, quiet_key = population.keys[0], population.keys[50]
    team = population.teams[3]
    return [
        Query("no filter", {}),
        Query("actor: a key making 15% of calls", {"actor": f"key:{busy_key}"}),
        Query("actor: a key making 0.3% of calls", {"actor": f"key:{quiet_key}"}),
        Query("action: chat.completion (93%)", {"action": "chat.completion"}),
        Query("action: key.create (0.3%)", {"action": "key.create"}),
        Query("target: a model (19%)", {"target": "model:openai/gpt-4o"}),
        Query("target: a team (admin changes)", {"target": f"team:{team}"}),
        Query("time: one hour", {"from": hour[0], "to": hour[1]}),
        Query("time: one day", {"from": day[0], "to": day[1]}),
        Query("time: one week", {"from": week[0], "to": week[1]}),
        Query("time: from a day before the end", {"from": at(29)}),
        Query(
            "time (one day) and action (key.create)",
            {"from": day[0], "to": day[1], "action": "key.create"},
        ),
    ]


def _sql_where(filters: dict[str, str]) -> tuple[str, list[str]]:
    parts, values = ["true"], []
    for name, value in filters.items():
        column, op = {"from": ("ts", ">="), "to": ("ts", "<")}.get(name, (name, "="))
        parts.append(f"{column} {op} %s")
        values.append(value)
    return " AND ".join(parts), values


def _count(dsn: str, filters: dict[str, str]) -> int:
    where, values = _sql_where(filters)
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM audit_log WHERE {where}", values).fetchone()
    return int(row[0]) if row else 0


class Client:
    def __init__(self, gateway: GatewayProcess) -> None:
        self.http = gateway.admin()
        self.http.timeout = httpx.Timeout(60)

    def page(self, filters: dict[str, str], after: int) -> tuple[float, dict[str, Any]]:
        params = {**filters, "after_seq": str(after), "limit": str(LIMIT)}
        started = time.perf_counter()
        answer = self.http.get("/audit", params=params)
        took = (time.perf_counter() - started) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"GET /audit {params}: {answer.status_code} {answer.text[:300]}")
        body: dict[str, Any] = answer.json()
        return took, body


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
        "max": ordered[-1],
    }


def measure(client: Client, query: Query, pages: int) -> dict[str, Any]:
    first = [client.page(query.filters, 0)[0] for _ in range(FIRST_PAGE_REPEATS)]
    following: list[float] = []
    after, walks = 0, 1
    while len(following) < pages:
        took, body = client.page(query.filters, after)
        if after:
            following.append(took)
        after = body["next_after_seq"] or 0
        if not after:
            walks += 1
            if walks > 50:  # a filter with a handful of rows: its pages are all first pages
                break
    return {"first": _stats(first), "following": _stats(following) if following else None}


def measure_deep(client: Client, rows: int, pages: int) -> dict[str, Any]:
    rng = random.Random(11)
    samples = [
        client.page({}, rng.randrange(max(rows - 100_000, 0), max(rows - LIMIT, 1)))[0]
        for _ in range(pages)
    ]
    return {"first": _stats(samples), "following": None}


def _wait_settled(dsn: str, rows: int, log: Callable[[str], None]) -> str:
    """Wait for the gateway's checkpoint writer to have verified the loaded chain (it signs a
    checkpoint at or beyond the last loaded row) and for the machine to calm down."""
    started = time.monotonic()
    deadline = started + SETTLE_TIMEOUT_S
    note = "the gateway signed no checkpoint within the wait (its writer may be off)"
    while time.monotonic() < deadline:
        with psycopg.connect(dsn) as conn:
            exists = conn.execute("SELECT to_regclass('audit_checkpoints')").fetchone()
            if not exists or exists[0] is None:
                note = "no audit_checkpoints table"
                break
            head = conn.execute("SELECT max(seq) FROM audit_checkpoints").fetchone()
        if head and head[0] is not None and int(head[0]) >= rows:
            note = (
                f"the gateway's checkpoint writer verified the {rows:,} loaded rows and signed "
                f"a checkpoint at seq {int(head[0]):,} {time.monotonic() - started:.0f} s after "
                "start"
            )
            break
        time.sleep(1)
    log(f"audit bench: {note}")
    for _ in range(30):  # let whatever the gateway did at start finish
        if machine.cpu_busy_pct(1.0) < 25:
            break
    return note


def run(rows: int, pages: int, out: Path) -> None:
    population = Population()
    results: dict[str, Any] = {"rows": rows, "machine": machine.machine()}
    results["load_before"] = os.getloadavg()
    with postgres_database(f"fluxrouter_bench_audit_{secrets.token_hex(2)}") as url:
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        upgrade(url)
        started = time.perf_counter()
        fill(dsn, rows, population)
        results["fill_s"] = time.perf_counter() - started
        print(f"audit bench: {rows:,} rows loaded in {results['fill_s']:.0f} s", flush=True)
        queries = _queries(rows, population)
        counts = {query.name: _count(dsn, query.filters) for query in queries}
        with tempfile.TemporaryDirectory() as workdir:
            admin_key = "fradm-" + secrets.token_urlsafe(32)
            config = {"database": {"url": url}, "logging": {"level": "warning"}}
            gateway = GatewayProcess(Path(workdir), config, admin_key=admin_key).start()
            try:
                results["settled"] = _wait_settled(dsn, rows, print)
                results["busy_before_pct"] = machine.cpu_busy_pct()
                results["load_at_start"] = os.getloadavg()
                client = Client(gateway)
                measured: list[tuple[str, int | None, dict[str, Any]]] = []
                for query in queries:
                    measured.append((query.name, counts[query.name], measure(client, query, pages)))
                    print(f"audit bench: {query.name}: {_line(measured[-1][2])}", flush=True)
                    if query.name == "no filter":
                        deep = measure_deep(client, rows, pages)
                        measured.append(
                            ("no filter, deep: after_seq in the last 100,000", None, deep)
                        )
                        print(f"audit bench: deep pages: {_line(deep)}", flush=True)
                results["load_after"] = os.getloadavg()
                results["busy_after_pct"] = machine.cpu_busy_pct()
            finally:
                gateway.stop()
    results["measured"] = measured
    text = markdown(results, pages)
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.md").write_text(text)


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def _line(result: dict[str, Any]) -> str:
    first, following = result["first"], result["following"]
    text = f"first page p50 {_ms(first['p50'])} p99 {_ms(first['p99'])}"
    if following:
        text += f"; next pages p50 {_ms(following['p50'])} p99 {_ms(following['p99'])}"
    return text


def markdown(results: dict[str, Any], pages: int) -> str:
    info = results["machine"]
    rows = results["rows"]
    lines = [
        "# Audit log pages",
        "",
        "Generated by `make bench` (`python -m tests.bench.audit_pages`): the latency of",
        f"`GET /admin/v1/audit?limit={LIMIT}` on a PostgreSQL database holding {rows:,} audit",
        "rows, through the real HTTP API of `fluxrouter serve`, one request at a time over one",
        "keep-alive connection (time to the whole JSON answer, as the client sees it).",
        "",
        "The rows are one valid hash chain, built in Python with RFC 8785 and SHA-256 as the",
        "gateway builds it and loaded with COPY (`tests/bench/audit_rows.py`): thirty days of",
        "traffic, mostly chat completions and embeddings by 400 keys (a few make most calls) on",
        "six models, and admin changes now and then; `ts` nearly follows `seq`, as when many",
        "processes append (neighbours swapped now and then, a few rows minutes late).",
        "",
        f"*First page*: `after_seq=0`, asked {FIRST_PAGE_REPEATS} times. *Next pages*: page after",
        f"page with `next_after_seq` ({pages} pages, starting over at the end of the matching",
        "rows). *Deep*: a random `after_seq` among the last 100,000 rows.",
        "",
        "| query | matching rows | first page p50 | first page p99 | next pages p50 | "
        "next pages p99 | next pages max |",
        "| --- | --: | --: | --: | --: | --: | --: |",
    ]
    for name, count, result in results["measured"]:
        first, following = result["first"], result["following"]
        rest = (
            [_ms(following["p50"]), _ms(following["p99"]), _ms(following["max"])]
            if following
            else ["–", "–", "–"]
        )
        shown = f"{count:,}" if count is not None else "–"
        lines.append(
            f"| {name} | {shown} | {_ms(first['p50'])} | {_ms(first['p99'])} | "
            + " | ".join(rest)
            + " |"
        )
    load = results
    lines += [
        "",
        "Filters by actor, action and target each read one index range ((column, seq)). A time",
        "window first looks at the next 800 seqs (rows are appended in nearly time order, so",
        "inside a window almost all match), then at the (ts, seq) index: a page inside a window",
        "costs about the same as any page, while a first page that starts far before a wide",
        "window, or the last page of one, reads the window's entries in that index, and so costs",
        "in proportion to the window's size.",
        "",
        "## Machine",
        "",
        f"* CPUs (`nproc`): {info['nproc']}, {info['cpu_model']}; memory {info['memory_gib']} GiB",
        f"* Python {info['python']}, Linux {info['kernel']}, PostgreSQL on the same machine",
        f"* Date: {info['date']}",
        "* Command: `make bench` (`python -m tests.bench.audit_pages`); loading the rows took "
        f"{results['fill_s']:.0f} s",
        f"* Before measuring: {results['settled']}.",
        "* Load average (1, 5, 15 min) before loading: "
        + ", ".join(f"{v:.2f}" for v in load["load_before"])
        + "; when measuring started: "
        + ", ".join(f"{v:.2f}" for v in load["load_at_start"])
        + "; at the end: "
        + ", ".join(f"{v:.2f}" for v in load["load_after"])
        + f". CPU busy just before measuring: {load['busy_before_pct']}%, just after: "
        f"{load['busy_after_pct']}% (anything above a few percent is other work on the "
        "machine, which skews the figures).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.audit_pages", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=300, help="next pages per query (300)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks")
    args = parser.parse_args(argv)
    if args.rows < 1000:
        parser.error("--rows must be at least 1000")
    run(args.rows, args.pages, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
