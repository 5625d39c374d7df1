"""The WebSocket chat under load: 1,000 idle connections and 100 active streams on one gateway
process (PostgreSQL + Redis + a worker), its memory and the latency of deltas, cancels and pings.

Usage: ``python -m tests.bench.websocket [--idle 1000] [--active 100] [--seconds 20]``.
Writes ``docs/benchmarks/websocket.md`` and ``docs/benchmarks/websocket.json``.

Each active connection runs generations of `fake-slow-stream` (the fake upstream sends one word
every 20 ms) back to back, and cancels every other one after its tenth delta. Measured at the
client: the time from `chat.start` to the first delta, the gap between deltas (the upstream's
pace is 20 ms: anything above is the gateway's and the client's), the time from `chat.cancel`
to `chat.cancelled`, and pings on idle connections while the streams run. Memory is the serve
process's resident set (VmRSS).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.bench import machine
from tests.bench.procs import Processes
from tests.bench.targets import gateway, start_upstream

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "benchmarks"
WORDS = 100  # per generation: 2 s at the fake's pace
CANCEL_AFTER = 10  # deltas, in every other generation
PACE_MS = 20.0


@dataclass
class Samples:
    first_delta_ms: list[float] = field(default_factory=list)
    gap_ms: list[float] = field(default_factory=list)
    cancel_ms: list[float] = field(default_factory=list)
    ping_ms: list[float] = field(default_factory=list)
    done: int = 0
    cancelled: int = 0
    deltas: int = 0
    errors: list[str] = field(default_factory=list)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 10 ms


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def open_socket(url: str, key: str) -> ClientConnection:
    connection = await connect(
        url, additional_headers={"Authorization": f"Bearer {key}"}, open_timeout=60
    )
    ready = json.loads(await connection.recv())
    if ready["type"] != "ready":
        raise RuntimeError(f"expected ready, got {ready}")
    return connection


async def stream_loop(connection: ClientConnection, until: float, samples: Samples) -> None:
    n = 0
    while time.monotonic() < until:
        n += 1
        generation, cancel = f"g{n}", n % 2 == 0
        start = {
            "type": "chat.start",
            "id": generation,
            "model": "fake-slow-stream",
            "max_tokens": WORDS,
            "messages": [{"role": "user", "content": "bench"}],
        }
        sent = time.monotonic()
        await connection.send(json.dumps(start))
        last, count, cancel_sent = 0.0, 0, 0.0
        while True:
            message = json.loads(await connection.recv())
            now = time.monotonic()
            kind = message["type"]
            if kind == "chat.delta" and message["delta"].get("content"):
                count += 1
                samples.deltas += 1
                if count == 1:
                    samples.first_delta_ms.append((now - sent) * 1000)
                elif not cancel_sent:
                    samples.gap_ms.append((now - last) * 1000)
                last = now
                if cancel and count == CANCEL_AFTER:
                    cancel_sent = time.monotonic()
                    await connection.send(json.dumps({"type": "chat.cancel", "id": generation}))
            elif kind == "chat.done":
                samples.done += 1
                break
            elif kind == "chat.cancelled":
                samples.cancelled += 1
                samples.cancel_ms.append((now - cancel_sent) * 1000)
                break
            elif kind == "error":
                samples.errors.append(json.dumps(message)[:300])
                break


async def ping_loop(connections: list[ClientConnection], until: float, samples: Samples) -> None:
    while time.monotonic() < until:
        for connection in connections:
            sent = time.monotonic()
            await connection.send('{"type": "ping"}')
            reply = json.loads(await connection.recv())
            if reply["type"] == "pong":
                samples.ping_ms.append((time.monotonic() - sent) * 1000)
        await asyncio.sleep(0.5)


async def measure(
    url: str, key: str, pid: int, idle: int, active: int, seconds: float
) -> dict[str, Any]:
    figures: dict[str, Any] = {"rss_mib": {"started": round(rss_mib(pid), 1)}}
    opened = time.monotonic()
    idle_sockets: list[ClientConnection] = []
    for first in range(0, idle, 100):  # in waves, as clients would arrive
        batch = [open_socket(url, key) for _ in range(first, min(first + 100, idle))]
        idle_sockets += await asyncio.gather(*batch)
    figures["idle_connect_s"] = round(time.monotonic() - opened, 2)
    await asyncio.sleep(3)
    figures["rss_mib"]["idle"] = round(rss_mib(pid), 1)
    figures["rss_kib_per_idle_connection"] = round(
        (figures["rss_mib"]["idle"] - figures["rss_mib"]["started"]) * 1024 / max(idle, 1), 1
    )

    streams = await asyncio.gather(*(open_socket(url, key) for _ in range(active)))
    samples = Samples()
    peak = 0.0
    cpu_before, started = cpu_seconds(pid), time.monotonic()
    until = started + seconds
    work = [asyncio.create_task(stream_loop(s, until, samples)) for s in streams]
    work.append(asyncio.create_task(ping_loop(idle_sockets[:50], until, samples)))
    while not all(task.done() for task in work):
        peak = max(peak, rss_mib(pid))
        await asyncio.sleep(0.5)
    for task in work:
        task.result()
    elapsed = time.monotonic() - started
    figures["gateway_cpu_pct"] = round(100 * (cpu_seconds(pid) - cpu_before) / elapsed, 1)
    figures["rss_mib"]["active_peak"] = round(peak, 1)
    for connection in [*streams, *idle_sockets]:
        await connection.close()
    await asyncio.sleep(2)
    figures["rss_mib"]["after_close"] = round(rss_mib(pid), 1)

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "n": len(values),
            "p50": round(pct(values, 0.5), 2),
            "p90": round(pct(values, 0.9), 2),
            "p99": round(pct(values, 0.99), 2),
            "max": round(max(values), 2) if values else float("nan"),
            "mean": round(statistics.fmean(values), 2) if values else float("nan"),
        }

    figures.update(
        {
            "seconds": round(elapsed, 1),
            "generations_done": samples.done,
            "generations_cancelled": samples.cancelled,
            "deltas": samples.deltas,
            "deltas_per_s": round(samples.deltas / elapsed),
            "first_delta_ms": summary(samples.first_delta_ms),
            "delta_gap_ms": summary(samples.gap_ms),
            "cancel_ms": summary(samples.cancel_ms),
            "idle_ping_ms": summary(samples.ping_ms),
            "errors": samples.errors[:10],
            "error_count": len(samples.errors),
        }
    )
    return figures


def report(figures: dict[str, Any], idle: int, active: int, box: dict[str, Any]) -> str:
    rss = figures["rss_mib"]

    def row(name: str, key: str) -> str:
        s = figures[key]
        return f"| {name} | {s['n']:,} | {s['p50']} | {s['p90']} | {s['p99']} | {s['max']} |"

    return "\n".join(
        [
            "# WebSocket chat: idle connections and active streams",
            "",
            "Generated by `make bench` (`python -m tests.bench.websocket`); every run overwrites",
            "this file and [`websocket.json`](websocket.json). Do not edit by hand.",
            "",
            f"One `fluxrouter serve` process (PostgreSQL + Redis + a worker) holds {idle:,} idle",
            f"connections while {active} others stream generations back to back for "
            f"{figures['seconds']} s. Each generation is `fake-slow-stream` with {WORDS} words",
            f"(the fake upstream, its own process, sends one every {PACE_MS:g} ms); every other",
            f"one is cancelled after its {CANCEL_AFTER}th delta. The client is one Python process",
            "(`websockets`) on the same machine; 50 of the idle connections send a ping every",
            "0.5 s meanwhile. Latencies are measured at the client.",
            "",
            "## Memory of the gateway process (VmRSS)",
            "",
            "| moment | MiB |",
            "| --- | --: |",
            f"| started, no connection | {rss['started']} |",
            f"| {idle:,} idle connections | {rss['idle']} |",
            f"| {idle:,} idle + {active} streaming (peak) | {rss['active_peak']} |",
            f"| all closed again | {rss['after_close']} |",
            "",
            f"An idle connection costs about {figures['rss_kib_per_idle_connection']} KiB; "
            f"opening the {idle:,} took {figures['idle_connect_s']} s (in waves of 100).",
            "",
            "## Latency (ms)",
            "",
            "| what | samples | p50 | p90 | p99 | max |",
            "| --- | --: | --: | --: | --: | --: |",
            row(f"`chat.start` → first word (the fake waits {PACE_MS:g} ms)", "first_delta_ms"),
            row(f"gap between deltas (upstream pace {PACE_MS:g} ms)", "delta_gap_ms"),
            row("`chat.cancel` → `chat.cancelled`", "cancel_ms"),
            row("ping → pong on an idle connection", "idle_ping_ms"),
            "",
            f"Throughput: {figures['deltas_per_s']:,} deltas/s; "
            f"{figures['generations_done']:,} generations finished and "
            f"{figures['generations_cancelled']:,} cancelled; "
            f"{figures['error_count']} errors. The gateway process used "
            f"{figures['gateway_cpu_pct']}% of one core while streaming.",
            "",
            f"Machine: {box['nproc']} CPUs ({box['cpu_model']}), {box['memory_gib']} GiB, "
            f"Python {box['python']}, {box['date']}. The machine was "
            f"{box['cpu_busy_before_pct']}% busy just before the run (load average "
            f"{box['load_average']}): it is shared, so other work may skew the figures.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.websocket", description=__doc__)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--active", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    box = machine.machine()
    box["cpu_busy_before_pct"] = machine.cpu_busy_pct()
    box["load_average"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with tempfile.TemporaryDirectory(prefix="fluxrouter-bench-ws-") as tmp:
        procs = Processes(Path(tmp))
        try:
            upstream = start_upstream(procs, "sk-bench-upstream")
            with gateway(procs, Path(tmp) / "gateway", "postgres", upstream) as target:
                pid = target.children[0].proc.pid
                url = target.base_url.replace("http://", "ws://") + "/v1/ws"
                figures = asyncio.run(
                    measure(url, target.key, pid, args.idle, args.active, args.seconds)
                )
        finally:
            procs.stop_all()
    figures["machine"] = box
    figures["idle_connections"], figures["active_streams"] = args.idle, args.active
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "websocket.json").write_text(json.dumps(figures, indent=2) + "\n")
    text = report(figures, args.idle, args.active, box)
    (args.out / "websocket.md").write_text(text)
    print(text)
    return 1 if figures["error_count"] else 0


if __name__ == "__main__":
    sys.exit(main())
