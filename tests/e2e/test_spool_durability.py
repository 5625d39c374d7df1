"""No served call is lost when the database is away at shutdown or when the gateway is killed:
each is journaled in the spool (`accounting.spool_dir`) before it waits for the database, and
the next start replays the spool, once each by event id.

The database is taken away from one gateway only: PostgreSQL behind a proxy on loopback that
the test cuts, SQLite by holding its write lock as another program would. The fake upstream is
the test's own, so the calls it saw are the calls of the test."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config
from tests.support.services import REDIS_URL, postgres_database
from tests.support.tcp_proxy import CuttableProxy
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = pytest.mark.timeout(420)  # two starts of the gateway, each 20 s or more when busy

THREADS = 6
"""Clients calling at once: at most this many calls are under way when the gateway is killed."""
SERVED_BEFORE_STOP = 60
"""Calls answered while the database is away, before the gateway is stopped."""
WARM_UP = "spool-warm-up"
PRICES = {  # per million tokens, as `gateway_config` sets them
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "fake-slow-stream": (Decimal(1), Decimal(2)),
}


@pytest.fixture
def own_upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(UPSTREAM_KEY) as fake:
        yield fake


@dataclass
class Load:
    """`THREADS` clients calling until stopped: quick calls, streamed and not, and (`slow`)
    long streams, so that some are under way whenever the gateway stops."""

    gateway: GatewayProcess
    tenant: Tenant
    slow: bool = False
    served: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    """Request id: (model, prompt tokens, completion tokens) of each call answered in full."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Load:
        for number in range(THREADS):
            thread = threading.Thread(target=self._calls, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def wait_for(self, count: int, timeout: float = 90) -> None:
        eventually(lambda: len(self.served) >= count, timeout=timeout)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _calls(self, number: int) -> None:
        headers = {"Authorization": f"Bearer {self.tenant.key}"}
        with httpx.Client(base_url=self.gateway.base_url, timeout=30, headers=headers) as client:
            sent = 0
            while not self._stop.is_set():
                sent += 1
                request_id = f"spool-{number}-{sent}-{secrets.token_hex(3)}"
                slow = self.slow and number == 0
                stream = slow or sent % 2 == 0
                model = "fake-slow-stream" if slow else "gpt-4o-mini"
                try:
                    answer = self._call(client, request_id, model, stream)
                except httpx.HTTPError:
                    time.sleep(0.05)  # the gateway is going or gone
                    continue
                if answer is not None:
                    with self._lock:
                        self.served[request_id] = (model, *answer)

    def _call(
        self, client: httpx.Client, request_id: str, model: str, stream: bool
    ) -> tuple[int, int] | None:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": request_id}],
            "max_tokens": 20,
        }
        headers = {"x-request-id": request_id}
        if not stream:
            answer = client.post("/v1/chat/completions", json=body, headers=headers)
            if answer.status_code != 200:
                return None
            usage = answer.json()["usage"]
            return usage["prompt_tokens"], usage["completion_tokens"]
        body |= {"stream": True, "stream_options": {"include_usage": True}}
        usage = None
        with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as answer:
            if answer.status_code != 200:
                return None
            for line in answer.iter_lines():
                if line.startswith("data: {"):
                    chunk = json.loads(line.removeprefix("data: "))
                    usage = chunk.get("usage") or usage
                elif line == "data: [DONE]" and usage is not None:
                    return usage["prompt_tokens"], usage["completion_tokens"]
        return None


@dataclass
class Recorded:
    usage: dict[str, tuple[str, int, int, int]]
    """Request id: (model, input tokens, output tokens, cost in picodollars)."""
    audited: int
    """Audit rows of chat calls."""


def recorded(database_url: str) -> Recorded:
    engine = create_engine(database_url.replace("sqlite+aiosqlite://", "sqlite://"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT request_id, model, input_tokens, output_tokens, cost_picousd "
                    "FROM usage_records"
                )
            ).all()
            audited = conn.execute(
                text("SELECT count(*) FROM audit_log WHERE action = 'chat.completion'")
            ).scalar_one()
    finally:
        engine.dispose()
    return Recorded({row[0]: (row[1], row[2], row[3], row[4]) for row in rows}, audited)


def upstream_calls(fake: FakeOpenAI) -> set[str]:
    """The request ids of the load's calls the upstream saw (each carries its id as its text)."""
    seen = set()
    for request in fake.requests:
        if request.path.endswith("/chat/completions") and isinstance(request.json, dict):
            content = request.json["messages"][0]["content"]
            if isinstance(content, str) and content.startswith("spool-"):
                seen.add(content)
    return seen


def cost(model: str, prompt: int, completion: int) -> int:
    per_input, per_output = PRICES[model]
    return int((prompt * per_input + completion * per_output) * 1_000_000)  # picodollars


def assert_nothing_served_was_lost(
    load: Load, fake: FakeOpenAI, gateway: GatewayProcess, *, reconciled: int
) -> Recorded:
    """Every call the upstream saw has its usage and audit row, each answered call exactly as
    the client was told it, and at most `reconciled` more rows: calls under way when the
    gateway was killed, charged their reservation."""
    seen = upstream_calls(fake)
    assert len(load.served) >= SERVED_BEFORE_STOP
    assert set(load.served) <= seen

    def complete() -> Recorded | None:
        now = recorded(gateway.database_url)
        return now if seen <= set(now.usage) and now.audited == len(now.usage) else None

    rows = eventually(complete, timeout=60)
    extra = set(rows.usage) - seen  # admitted, not sent upstream yet when killed
    assert len(extra) <= reconciled, extra
    for request_id, (model, prompt, completion) in load.served.items():
        assert rows.usage[request_id] == (
            model,
            prompt,
            completion,
            cost(model, prompt, completion),
        ), request_id
    served_spend = sum(cost(*answer) for answer in load.served.values())
    assert sum(row[3] for row in rows.usage.values()) >= served_spend
    return rows


def test_sigterm_with_postgresql_away_loses_no_served_call(
    own_upstream: FakeOpenAI, tmp_path: Path
) -> None:
    with postgres_database() as url, proxied(url, own_upstream, tmp_path) as (proxy, gateway):
        tenant = warm_tenant(gateway)
        proxy.cut()
        load = Load(gateway, tenant).start()
        try:
            load.wait_for(SERVED_BEFORE_STOP)
            assert gateway.stop() == 0  # SIGTERM, the database still away
        finally:
            load.stop()
        proxy.restore()
        gateway.start()
        rows = assert_nothing_served_was_lost(load, own_upstream, gateway, reconciled=0)
        assert set(rows.usage) == upstream_calls(own_upstream)
        gateway.stop()
    assert not list((gateway.workdir / "accounting-spool").glob("*.spool"))  # all written


def test_kill_9_with_postgresql_away_loses_no_finished_call(
    own_upstream: FakeOpenAI, tmp_path: Path
) -> None:
    with postgres_database() as url, proxied(url, own_upstream, tmp_path) as (proxy, gateway):
        tenant = warm_tenant(gateway)
        proxy.cut()
        load = Load(gateway, tenant, slow=True).start()
        try:
            load.wait_for(SERVED_BEFORE_STOP)
            os.kill(gateway.pid, signal.SIGKILL)  # mid-load, a slow stream under way
            gateway.stop()
        finally:
            load.stop()
        proxy.restore()
        gateway.start()
        assert_nothing_served_was_lost(load, own_upstream, gateway, reconciled=THREADS)
        assert '"event":"spool.replayed"' in gateway.logs()
        gateway.stop()


def test_kill_9_of_the_embedded_shape_loses_no_finished_call(
    own_upstream: FakeOpenAI, tmp_path: Path
) -> None:
    database = tmp_path / "fluxrouter.db"
    gateway = GatewayProcess(
        tmp_path,
        gateway_config(
            database_url=f"sqlite+aiosqlite:///{database}",
            redis_url=None,
            upstream_url=own_upstream.base_url,
            upstream_key=UPSTREAM_KEY,
        ),
        admin_key="fradm-" + secrets.token_urlsafe(32),
        upstream_key=UPSTREAM_KEY,
    ).start()
    try:
        tenant = warm_tenant(gateway)
        holder = sqlite3.connect(database, timeout=60)  # another program holding the write lock
        holder.isolation_level = None
        holder.execute("BEGIN IMMEDIATE")
        load = Load(gateway, tenant, slow=True).start()
        try:
            load.wait_for(SERVED_BEFORE_STOP)
            os.kill(gateway.pid, signal.SIGKILL)
            gateway.stop()
        finally:
            load.stop()
            holder.execute("ROLLBACK")
            holder.close()
        gateway.start()
        assert_nothing_served_was_lost(load, own_upstream, gateway, reconciled=THREADS)
    finally:
        gateway.stop()


def warm_tenant(gateway: GatewayProcess) -> Tenant:
    """A tenant whose key the gateway has seen (cached: served with the database away)."""
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"spool-{secrets.token_hex(3)}")
    answer = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": WARM_UP}]},
        headers={"Authorization": f"Bearer {tenant.key}", "x-request-id": WARM_UP},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return tenant


@contextlib.contextmanager
def proxied(
    url: str, upstream: FakeOpenAI, workdir: Path
) -> Iterator[tuple[CuttableProxy, GatewayProcess]]:
    """A gateway (PostgreSQL + Redis) whose database is reached through a cuttable proxy."""
    database = make_url(url)
    with CuttableProxy((database.host or "127.0.0.1", database.port or 5432)) as proxy:
        through = database.set(host="127.0.0.1", port=proxy.port)
        gateway = GatewayProcess(
            workdir,
            gateway_config(
                database_url=through.render_as_string(hide_password=False),
                redis_url=REDIS_URL,
                upstream_url=upstream.base_url,
                upstream_key=UPSTREAM_KEY,
            ),
            admin_key="fradm-" + secrets.token_urlsafe(32),
            upstream_key=UPSTREAM_KEY,
        )
        gateway.env["FLUXROUTER_REDIS_NAMESPACE"] = f"fluxrouter-test-{secrets.token_hex(4)}"
        gateway.env["PYTHONUNBUFFERED"] = "1"
        try:
            yield proxy, gateway.start()
        finally:
            gateway.stop()
