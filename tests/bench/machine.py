"""What the numbers were measured on, and how busy the machine was."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "nproc": int(nproc) if nproc.isdigit() else os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def cpu_counters() -> tuple[int, int]:
    """All CPUs' busy (user + nice + system) and total jiffies so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[0] + fields[1] + fields[2], sum(fields[:8])


def busy_pct_since(before: tuple[int, int]) -> float:
    """Share of all CPUs busy since `cpu_counters()` gave `before`."""
    busy0, total0 = before
    busy1, total1 = cpu_counters()
    return round(100.0 * (busy1 - busy0) / max(total1 - total0, 1), 1)


def cpu_busy_pct(seconds: float = 2.0) -> float:
    """Share of all CPUs busy over the next `seconds`."""
    before = cpu_counters()
    time.sleep(seconds)
    return busy_pct_since(before)


def quiet_busy_pct(below: float = 10.0, within: float = 60.0) -> float:
    """Waits up to `within` seconds for the machine to be less than `below` % busy (a target
    just stopped or measured may still be finishing its work: its accounting, the projections,
    PostgreSQL's autovacuum); the share busy over the last 2 s."""
    deadline = time.monotonic() + within
    busy = cpu_busy_pct()
    while busy >= below and time.monotonic() < deadline:
        busy = cpu_busy_pct()
    return busy


PACKAGES = (
    "litestar",
    "uvicorn",
    "uvloop",
    "httptools",
    "aiohttp",
    "msgspec",
    "redis",
    "hiredis",
    "sqlalchemy",
    "psycopg",
    "structlog",
)


def versions() -> dict[str, str]:
    """The versions the numbers were measured with: the stack's packages and the servers."""
    from importlib import metadata

    found: dict[str, str] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["fluxrouter"] = metadata.version("fluxrouter")
    found |= _servers()
    return found


def _servers() -> dict[str, str]:
    import psycopg
    import redis

    from tests.support.services import PG_ADMIN_DSN, REDIS_URL

    out: dict[str, str] = {}
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            out["postgresql"] = str(row[0]) if row else "unknown"
    except psycopg.Error:
        out["postgresql"] = "unreachable"
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        out["redis-server"] = str(client.info("server").get("redis_version", "unknown"))
    except redis.RedisError:
        out["redis-server"] = "unreachable"
    finally:
        client.close()
    return out
