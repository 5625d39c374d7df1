"""What pruning a day of the request log costs its writes: a writer inserts batches of 100
records (as the accounting does) while the retention job removes a day of `ROWS` records; the
batches' latency then, against the same writer with nothing pruned.

    .venv/bin/python -m tests.bench.retention [postgres|sqlite] [rows] [batch]

Writes docs/benchmarks/retention.md's figures to stdout (the note itself is written by hand).
"""

from __future__ import annotations

import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from infrastructure.db.retention import Retained, RetentionPruner
from migrations.runner import upgrade

BATCH = 100
COLUMNS = (
    "ts, id, request_id, org_id, team_id, user_id, key_id, dialect, transport, stream, "
    "requested_model, model, upstream_model, provider, deployment, route, status, outcome, "
    "error_code, cancelled, latency_ms, ttft_ms, prompt_tokens, cached_tokens, "
    "cache_write_tokens, completion_tokens, reasoning_tokens, cost_picousd, priced, "
    "usage_reported, cache, tags, caller_metadata"
)


def _row(ts: datetime) -> dict[str, object]:
    return {
        "ts": ts.replace(tzinfo=None),
        "id": secrets.token_hex(16),
        "request_id": secrets.token_hex(8),
        "org_id": "org",
        "team_id": "team",
        "user_id": None,
        "key_id": "key",
        "dialect": "chat",
        "transport": "http",
        "stream": False,
        "requested_model": "gpt-4o-mini",
        "model": "gpt-4o-mini",
        "upstream_model": "gpt-4o-mini",
        "provider": "openai",
        "deployment": "openai/gpt-4o-mini",
        "route": "weighted",
        "status": 200,
        "outcome": "ok",
        "error_code": "",
        "cancelled": False,
        "latency_ms": 12.0,
        "ttft_ms": None,
        "prompt_tokens": 10,
        "cached_tokens": 0,
        "cache_write_tokens": 0,
        "completion_tokens": 5,
        "reasoning_tokens": 0,
        "cost_picousd": 1000,
        "priced": True,
        "usage_reported": True,
        "cache": "off",
        "tags": None,
        "caller_metadata": None,
    }


INSERT = text(
    f"INSERT INTO request_log ({COLUMNS}) VALUES ("
    + ", ".join(f":{name.strip()}" for name in COLUMNS.split(","))
    + ")"
)


def _fill(engine: Engine, day: datetime, rows: int) -> None:
    for start in range(0, rows, 10_000):
        batch = [
            _row(day + timedelta(seconds=(start + n) * 86_000 / rows))
            for n in range(min(10_000, rows - start))
        ]
        with engine.begin() as conn:
            conn.execute(INSERT, batch)


def _write(engine: Engine, stop: threading.Event, latencies: list[float]) -> None:
    while not stop.is_set():
        now = datetime.now(UTC)
        batch = [_row(now) for _ in range(BATCH)]
        began = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(INSERT, batch)
        latencies.append((time.perf_counter() - began) * 1000)
        time.sleep(0.01)


def _during(engine: Engine, work: object, seconds: float | None = None) -> list[float]:
    latencies: list[float] = []
    stop = threading.Event()
    writer = threading.Thread(target=_write, args=(engine, stop, latencies))
    writer.start()
    time.sleep(0.5)
    latencies.clear()
    if seconds is not None:
        time.sleep(seconds)
    else:
        began = time.perf_counter()
        work()  # type: ignore[operator]
        print(f"  pruning took {(time.perf_counter() - began) * 1000:.0f} ms")
    stop.set()
    writer.join()
    return latencies


def _report(name: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p99 = ordered[max(0, round(len(ordered) * 0.99) - 1)]
    print(
        f"  {name}: {len(ordered)} batches, p50 {statistics.median(ordered):.2f} ms, "
        f"p99 {p99:.2f} ms, max {ordered[-1]:.2f} ms"
    )


def main() -> None:
    shape = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    with tempfile.TemporaryDirectory() as workdir:
        if shape == "postgres":
            from tests.support.services import postgres_database

            context = postgres_database("fluxrouter_bench")
            url = context.__enter__()
        else:
            url = f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}"
        upgrade(url)
        sync_url = url.replace("sqlite+aiosqlite://", "sqlite://")
        engine = create_engine(sync_url)
        if shape == "sqlite":
            with engine.begin() as conn:
                conn.execute(text("PRAGMA journal_mode=WAL"))
        day = datetime.combine(
            (datetime.now(UTC) - timedelta(days=40)).date(), datetime.min.time(), UTC
        )
        pruner = RetentionPruner(engine, [Retained("request_log", 30)], batch=batch)
        if shape == "postgres":
            pruner.make_partitions("request_log", day.date())
        _fill(engine, day, rows)
        print(f"{shape}: a day of {rows} records past retention")
        _report("writes, nothing pruned", _during(engine, None, seconds=3))
        _report("writes while the day is pruned", _during(engine, pruner.run))
        engine.dispose()
        if shape == "postgres":
            context.__exit__(None, None, None)


if __name__ == "__main__":
    main()
