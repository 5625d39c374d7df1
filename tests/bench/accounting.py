"""What the accounting process costs: CPU per finished call and per stored response, and while idle.

`python -m tests.bench.accounting [--shape sqlite|postgres|both] [--batches N] [--batch B]`

The accounting process's parts (`interfaces.accounting.composition.compose`, as the child
composes them, started: the outbox relay, the audit checkpoint writer, the embedded projection
worker) run in this process against a fresh migrated database. Batches of finished calls arrive
as frames, as the serving process sends them (decoded from the frame's bytes, then
`RecordCompletions` on the bus, each batch answered before the next); the projection worker then
drains its queue. Then batches of stored responses (`StoreResponses`). `time.process_time` counts
every thread of the process (the aiosqlite thread, the worker's, the relay's), so the CPU per
call includes the projection and any background polling while the batches were written; what
the idle process burns per second is measured apart, after a pause. Each figure is the median of
`--rounds` rounds, after a warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import yaml

from application.conversations.commands import StoreResponses
from application.providers.commands import RecordCompletions
from application.teams.commands import CreateOrg, CreateTeam
from infrastructure.settings import load_settings
from interfaces.accounting import frames
from interfaces.accounting.composition import Accounting, compose
from migrations.runner import upgrade
from tests.bench.machine import machine
from tests.support.events import completion
from tests.support.services import postgres_database
from tests.support.stored_responses import store_response

OUT = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "accounting.md"

PROVIDER = {
    "name": "openai",
    "kind": "openai",
    "base_url": "http://127.0.0.1:9/v1",
    "api_key": "sk-unused-by-this-bench",
    "models": [{"name": "gpt-4o-mini", "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}],
}

IDLE_SECONDS = 3.0


def call_frame(first: int, count: int, run: str) -> bytes:
    """A frame of `count` finished calls as the recorder sends them: varied keys, teams, users,
    tokens and outcomes."""
    calls = [
        completion(
            request_id=f"{run}-{n}",
            key_id=f"key-{n % 13}",
            team_id=f"team-{n % 3}",
            user_id=None if n % 4 == 0 else f"user-{n % 5}",
            stream=n % 2 == 0,
            transport="http",
            input_tokens=200 + n % 1000,
            output_tokens=50 + n % 300,
            cached_tokens=0 if n % 3 else 64,
            latency_ms=120.0 + n % 50,
            outcome="ok" if n % 17 else "error",
            status=200 if n % 17 else 502,
        )
        for n in range(first, first + count)
    ]
    return frames.frame(frames.COMPLETIONS, calls)[frames.HEADER.size :]


def responses_frame(first: int, count: int, run: str, org_id: str, team_id: str) -> bytes:
    """A frame of `count` responses `/v1/responses` stores (about 1.5 KiB of JSON each)."""
    command = StoreResponses(
        responses=[
            store_response(
                response={
                    "id": f"resp_{run}_{n}",
                    "object": "response",
                    "created_at": 1_700_000_000 + n,
                    "status": "completed",
                    "model": "gpt-4o-mini",
                    "output": [
                        {
                            "id": f"msg_{run}_{n}",
                            "type": "message",
                            "role": "assistant",
                            "status": "completed",
                            "content": [
                                {"type": "output_text", "text": "word " * 120, "annotations": []}
                            ],
                        }
                    ],
                    "usage": {"input_tokens": 42, "output_tokens": 120, "total_tokens": 162},
                },
                input_items=[
                    {
                        "id": f"in_{run}_{n}",
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "Tell me something " * 8}],
                    }
                ],
                org_id=org_id,
                team_id=team_id,
                key_id="key-1",
                user_id=None,
                previous_response_id=None,
                retention_seconds=3600.0,
            )
            for n in range(first, first + count)
        ]
    )
    return frames.responses_frame(command)[frames.HEADER.size :]


@contextmanager
def database(shape: str) -> Iterator[str]:
    if shape == "postgres":
        with postgres_database("fluxrouter_bench_accounting") as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="fluxrouter-bench-") as tmp:
        yield f"sqlite+aiosqlite:///{tmp}/accounting.db"


@asynccontextmanager
async def started(url: str) -> AsyncIterator[Accounting]:
    upgrade(url)
    scratch = Path(tempfile.mkdtemp(prefix="fluxrouter-bench-"))
    config = scratch / "fluxrouter.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": {"url": url},
                "audit": {
                    "signing_key_file": str(scratch / "audit.key"),
                    "checkpoint_dir": str(scratch / "checkpoints"),
                },
                "providers": [PROVIDER],
            }
        )
    )
    settings, _ = load_settings(str(config), environ={}, cwd=Path("/nonexistent"))
    accounting = compose(settings)
    await accounting.start()
    try:
        yield accounting
    finally:
        await accounting.stop()
        shutil.rmtree(scratch, ignore_errors=True)


async def drained(accounting: Accounting) -> None:
    """Once the projection worker has handled every event the relay handed it."""
    if accounting.embedded_worker:
        await asyncio.to_thread(accounting.broker.join, "projections", timeout=600_000)


async def timed(work: Callable[[], Any]) -> tuple[float, float]:
    """CPU seconds (every thread) and wall seconds of `await work()`."""
    cpu, wall = time.process_time(), time.perf_counter()
    await work()
    return time.process_time() - cpu, time.perf_counter() - wall


async def one_round(
    accounting: Accounting, run: str, batches: int, batch: int, org_team: tuple[str, str]
) -> dict[str, float]:
    calls = [call_frame(i * batch, batch, run) for i in range(batches)]
    stored = [responses_frame(i * 8, 8, run, *org_team) for i in range(max(batches // 4, 1))]

    async def write_calls() -> None:
        for payload in calls:
            decoded = frames.calls(payload)
            await accounting.bus.handle(RecordCompletions(completions=tuple(decoded)))
        await drained(accounting)

    async def write_responses() -> None:
        for payload in stored:
            await accounting.bus.handle(frames.responses(payload))

    call_cpu, call_wall = await timed(write_calls)
    response_cpu, response_wall = await timed(write_responses)
    await asyncio.sleep(0.5)  # the relay and the checkpointer come back to rest
    idle_cpu, idle_wall = await timed(lambda: asyncio.sleep(IDLE_SECONDS))
    return {
        "call_cpu_us": call_cpu / (batches * batch) * 1e6,
        "call_wall_us": call_wall / (batches * batch) * 1e6,
        "response_cpu_us": response_cpu / (len(stored) * 8) * 1e6,
        "response_wall_us": response_wall / (len(stored) * 8) * 1e6,
        "idle_cpu_ms_per_s": idle_cpu / idle_wall * 1e3,
    }


async def measure(shape: str, batches: int, batch: int, rounds: int) -> dict[str, float]:
    with database(shape) as url:
        async with started(url) as accounting:
            org = await accounting.bus.handle(CreateOrg(name="bench", actor="bench"))
            team = await accounting.bus.handle(CreateTeam(org_id=org.id, name="t", actor="bench"))
            org_team = (org.id, team.id)
            await one_round(accounting, "warm", max(batches // 4, 2), batch, org_team)
            results = [
                await one_round(accounting, f"r{r}", batches, batch, org_team)
                for r in range(rounds)
            ]
    figures = {name: statistics.median(r[name] for r in results) for name in results[0]}
    figures["rounds"] = rounds
    return figures


def report(figures: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    box = machine()
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    lines = [
        "# Accounting process: CPU per call",
        "",
        "Generated by `make bench` (`python -m tests.bench.accounting`): the accounting process's",
        "parts (as the child composes them: bus, outbox relay, audit checkpoints, embedded",
        "projection worker) in one process against a fresh migrated database. Finished calls",
        f"arrive as frames of {args.batch} (the recorder's batches under load), each written",
        "(outbox, usage, audit and request log rows, one transaction) before the next, then",
        "projected; then stored responses in batches of 8. CPU counts every thread of the",
        "process; per call it includes the projection and the background loops. Idle: what the",
        "process burns per second with nothing to write. Medians of "
        f"{args.rounds} rounds of {args.batches} batches, after a warm-up.",
        "",
        "| database | CPU per call | wall per call | CPU per stored response | wall per stored"
        " response | idle CPU |",
        "| --- | --: | --: | --: | --: | --: |",
    ]
    for shape, f in figures.items():
        lines.append(
            f"| {names[shape]} | {f['call_cpu_us']:,.0f} µs | {f['call_wall_us']:,.0f} µs"
            f" | {f['response_cpu_us']:,.0f} µs | {f['response_wall_us']:,.0f} µs"
            f" | {f['idle_cpu_ms_per_s']:,.1f} ms/s |"
        )
    command = "python -m tests.bench.accounting " + " ".join(sys.argv[1:])
    lines += [
        "",
        f"Command: `{command.strip()}`.",
        f"Machine: {box['nproc']} CPUs ({box['cpu_model']}), {box['memory_gib']} GiB,"
        f" Python {box['python']}, {box['date']}. The machine is shared: other work may skew",
        "the figures.",
        "",
    ]
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    shapes = ["sqlite", "postgres"] if args.shape == "both" else [args.shape]
    figures = {}
    for shape in shapes:
        figures[shape] = await measure(shape, args.batches, args.batch, args.rounds)
    text = report(figures, args)
    print(text)
    if not args.no_write:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shape", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only")
    asyncio.run(main(parser.parse_args()))
