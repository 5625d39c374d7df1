"""`fluxrouter serve --workers 2` in the production shape: both workers take connections,
a worker that dies is replaced without a refused connection, a taken port is refused, and
SIGTERM stops every process."""

from __future__ import annotations

import functools
import json
import os
import signal
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import pytest

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.processes import (
    alive,
    connections_by_process,
    serving_workers,
    spawned_workers,
)
from tests.support.tenants import Tenant, create_tenant

CONNECTIONS = 40
# hashed at random over two workers: fewer than 8 of 40 on one has a chance below 1e-5
FEWEST = 8


@pytest.fixture(scope="module")
def two_workers(
    upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    with own_gateway(  # a new database, not the shared gateway's: it signs with its own key
        "postgres",
        tmp_path_factory.mktemp("gateway-2-workers"),
        functools.partial(
            gateway_config,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
        ),
        upstream_key=UPSTREAM_KEY,
        with_worker=False,
        workers=2,
    ) as process:
        yield process


@pytest.fixture(scope="module")
def tenant(two_workers: GatewayProcess) -> Tenant:
    with two_workers.admin() as admin:
        return create_tenant(admin, "two-workers")


def _serving(gateway: GatewayProcess, timeout: float = 60) -> list[int]:
    """The two worker processes, once both listen (each after its app's startup)."""
    deadline = time.monotonic() + timeout
    while (found := serving_workers(gateway.pid, 2, gateway.port)) is None:
        assert time.monotonic() < deadline, f"workers: {spawned_workers(gateway.pid)}"
        time.sleep(0.1)
    return found


def _chats(gateway: GatewayProcess, tenant: Tenant, connections: int) -> list[HTTPConnection]:
    """One chat on each of `connections` new connections, all left open (quickly: the server
    closes a connection idle for 5 s)."""
    opened = []
    for number in range(connections):
        conn = HTTPConnection("127.0.0.1", gateway.port, timeout=10)
        opened.append(conn)
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"n{number}"}]}
        headers = {"Authorization": f"Bearer {tenant.key}", "Content-Type": "application/json"}
        conn.request("POST", "/v1/chat/completions", json.dumps(body), headers)
        answer = conn.getresponse()
        text = answer.read()
        assert answer.status == 200, text
        assert json.loads(text)["choices"][0]["message"]["content"] == f"Echo: n{number}"
    return opened


def _spread(gateway: GatewayProcess, tenant: Tenant, workers: list[int]) -> dict[int, int]:
    opened = _chats(gateway, tenant, CONNECTIONS)
    try:
        return connections_by_process(gateway.port, workers)
    finally:
        for conn in opened:
            conn.close()


def test_both_workers_take_connections(two_workers: GatewayProcess, tenant: Tenant) -> None:
    workers = _serving(two_workers)
    held = _spread(two_workers, tenant, workers)
    assert sum(held.values()) == CONNECTIONS, held
    assert min(held.values()) >= FEWEST, held


def test_a_killed_worker_is_replaced_and_no_connection_is_refused(
    two_workers: GatewayProcess, tenant: Tenant
) -> None:
    killed, staying = _serving(two_workers)
    os.kill(killed, signal.SIGKILL)
    # once the supervisor has reaped it, the killed worker's socket has left the group, and the
    # replacement's joins only once it serves: every new connection meanwhile is the other's
    while Path(f"/proc/{killed}").exists():
        time.sleep(0.05)
    for conn in _chats(two_workers, tenant, 10):
        conn.close()
    workers = _serving(two_workers)
    assert staying in workers
    assert killed not in workers
    held = _spread(two_workers, tenant, workers)
    assert sum(held.values()) == CONNECTIONS, held
    assert min(held.values()) >= FEWEST, held


def test_a_second_serve_on_the_same_port_is_refused(two_workers: GatewayProcess) -> None:
    second = two_workers.fluxrouter("serve", "--workers", "2", "--port", str(two_workers.port))
    assert second.returncode == 1, second.stdout + second.stderr
    assert f"cannot listen on 127.0.0.1:{two_workers.port}" in second.stderr
    assert "Traceback" not in second.stderr


def test_sigterm_stops_the_supervisor_and_every_worker(two_workers: GatewayProcess) -> None:
    workers = _serving(two_workers)
    assert two_workers.stop() == 0
    for pid in workers:
        assert not alive(pid), pid
    assert "fluxrouter: stopped" in two_workers.log_path.read_text()
