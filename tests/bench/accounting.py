"""How fast finished calls are accounted for (outbox, billing, audit, usage projection), off the
request path: `python -m tests.bench.accounting [--events N]`, on SQLite and on PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

from application.providers.commands import RecordCompletions
from domains.providers.events import CompletionFinished
from infrastructure.settings import load_settings
from interfaces.bootstrap import Container, bootstrap
from migrations.runner import upgrade
from tests.support.services import postgres_database

BATCH = 500


def completion(n: int) -> CompletionFinished:
    return CompletionFinished(
        request_id=f"r{n}",
        endpoint="chat",
        key_id=f"k{n % 7}",
        team_id="t",
        org_id="o",
        user_id=None,
        provider="openai",
        model="gpt-4o-mini",
        upstream_model="gpt-4o-mini",
        stream=False,
        status=200,
        outcome="ok",
        input_tokens=20,
        output_tokens=30,
    )


async def measure(url: str, events: int) -> dict[str, float]:
    upgrade(url)
    settings, _ = load_settings(
        None, environ={"FLUXROUTER_DATABASE_URL": url}, cwd=Path("/nonexistent")
    )
    container: Container = bootstrap(settings)
    await container.start()
    try:
        started = time.perf_counter()
        for first in range(0, events, BATCH):
            batch = tuple(completion(n) for n in range(first, min(first + BATCH, events)))
            await container.bus.handle(RecordCompletions(completions=batch))
        recorded = time.perf_counter() - started
        await asyncio.to_thread(container.broker.join, "projections", timeout=600_000)
        projected = time.perf_counter() - started
    finally:
        await container.stop()
    return {"recorded_per_s": events / recorded, "projected_per_s": events / projected}


async def main(events: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = await measure(f"sqlite+aiosqlite:///{tmp}/bench.db", events)
    with postgres_database(f"fluxrouter_bench_{secrets.token_hex(2)}") as url:
        postgres = await measure(url, events)
    for name, figures in (("sqlite", sqlite), ("postgres", postgres)):
        print(
            f"{name:9} {events} events: billed+audited {figures['recorded_per_s']:,.0f}/s, "
            f"projected {figures['projected_per_s']:,.0f}/s"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().events))
