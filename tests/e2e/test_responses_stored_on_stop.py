"""A graceful stop writes every stored response it answered: many `store: true` responses
(plain and streamed, native and translated) are answered while the database holds their
writes back, SIGTERM comes right after the last answer, and once the gateway is started again
every one of them is found (`GET /v1/responses/{id}`), on both shapes (a gateway of the test's
own each time)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import secrets
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.tenants import create_tenant

pytestmark = pytest.mark.timeout(300)  # two starts of the gateway, per shape

RESPONSES = 120
AT_ONCE = 24  # clients calling at once
RELEASED_AFTER = 3.5  # seconds after SIGTERM: within `accounting.stop_flush_seconds` (5 s)
MODELS = ("gpt-4o-mini", "llama3.1")  # natively to OpenAI, translated through chat


@pytest.fixture(
    params=[
        "sqlite",
        # a new database, a worker and two starts: `make test-all` only, beside the spool's
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]),
    ]
)
def gateway(
    request: pytest.FixtureRequest, upstream: FakeOpenAI, tmp_path: Path
) -> Iterator[GatewayProcess]:
    with own_gateway(
        request.param,
        tmp_path,
        functools.partial(
            gateway_config,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
        ),
        upstream_key=UPSTREAM_KEY,
    ) as process:
        yield process


async def _answer(http: httpx.AsyncClient, n: int) -> str | None:
    """The id of the `n`th response, answered plain or streamed; None when it was not answered
    (asked once the gateway had stopped taking requests)."""
    body = {"model": MODELS[n % 2], "input": f"keep me {n}", "store": True}
    try:
        if n % 3:
            answered = await http.post("/v1/responses", json=body)
            if answered.status_code == 503:  # stopping
                return None
            assert answered.status_code == 200, answered.text
            return str(answered.json()["id"])
        final = None
        async with http.stream("POST", "/v1/responses", json={**body, "stream": True}) as streamed:
            if streamed.status_code == 503:
                return None
            assert streamed.status_code == 200
            async for line in streamed.aiter_lines():
                if line.startswith("data:") and '"response.completed"' in line:
                    final = json.loads(line[5:])["response"]
    except httpx.TransportError:  # refused, or cut before its answer: not answered
        return None
    return None if final is None else str(final["id"])


async def _answer_all(gateway: GatewayProcess, key: str, count: int) -> list[str]:
    """The ids of `count` responses, `AT_ONCE` asked at a time."""
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=AT_ONCE)
    async with httpx.AsyncClient(
        base_url=gateway.base_url, headers=headers, timeout=30, limits=limits
    ) as http:
        gate = asyncio.Semaphore(AT_ONCE)

        async def one(n: int) -> str | None:
            async with gate:
                return await _answer(http, n)

        answered = await asyncio.gather(*(one(n) for n in range(count)))
    assert None not in answered, "every request is answered"
    return [i for i in answered if i is not None]


@contextlib.contextmanager
def writes_held(gateway: GatewayProcess) -> Iterator[Callable[[], None]]:
    """Stored responses cannot be written (reads go on) until the function yielded is called:
    SQLite's write lock taken, or PostgreSQL's table of stored responses locked against
    writes, as another program could."""
    if gateway.shape == "sqlite":
        holder: Any = sqlite3.connect(
            make_url(gateway.database_url).database or "",
            timeout=60,
            isolation_level=None,
            check_same_thread=False,  # released by a timer
        )
        holder.execute("BEGIN IMMEDIATE")
    else:
        dsn = gateway.database_url.replace("postgresql+psycopg://", "postgresql://")
        holder = psycopg.connect(dsn)
        holder.execute("LOCK TABLE stored_responses IN SHARE ROW EXCLUSIVE MODE")
    once = threading.Lock()  # released by a timer, or at the end: once

    def release() -> None:
        if once.acquire(blocking=False):
            holder.rollback()
            holder.close()

    try:
        yield release
    finally:
        release()


async def _missing(gateway: GatewayProcess, key: str, ids: list[str]) -> list[str]:
    """The ids not found."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=gateway.base_url, headers=headers, timeout=30) as http:
        gate = asyncio.Semaphore(AT_ONCE)

        async def missing(response_id: str) -> str | None:
            async with gate:
                got = await http.get(f"/v1/responses/{response_id}")
            assert got.status_code in (200, 404), got.text
            return response_id if got.status_code == 404 else None

        return [i for i in await asyncio.gather(*(missing(i) for i in ids)) if i is not None]


def _stored(gateway: GatewayProcess) -> int:
    """The responses stored, read from the database itself."""
    engine = create_engine(gateway.database_url)
    try:
        with engine.connect() as db:
            return int(db.execute(text("SELECT count(*) FROM stored_responses")).scalar_one())
    finally:
        engine.dispose()


def test_sigterm_right_after_the_last_answer_stores_every_response(
    gateway: GatewayProcess,
) -> None:
    """The responses are answered while their writes wait for the database, SIGTERM comes
    right after the last answer, and the database lets them be written 3.5 s later: the stop
    waits for them (within `accounting.stop_flush_seconds`, 5 s)."""
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"stored-on-stop-{secrets.token_hex(3)}")
    ids = asyncio.run(_answer_all(gateway, tenant.key, AT_ONCE))  # warm, and written at once
    assert asyncio.run(_missing(gateway, tenant.key, ids)) == []
    with writes_held(gateway) as release:
        ids += asyncio.run(_answer_all(gateway, tenant.key, RESPONSES))
        assert _stored(gateway) == AT_ONCE, "the responses answered are not written yet"
        os.kill(gateway.pid, signal.SIGTERM)
        threading.Timer(RELEASED_AFTER, release).start()
        assert gateway.stop() == 0  # it stopped of itself, gracefully
    assert len(set(ids)) == AT_ONCE + RESPONSES
    gateway.start()
    assert asyncio.run(_missing(gateway, tenant.key, ids)) == []
