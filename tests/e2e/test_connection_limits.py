"""Slow and numerous connections against the real gateway on real sockets: 20,000 half-open
connections from one address leave `/healthz` and chats answering for another address; a client
slow to send its headers or its body is cut off after the timeout; one address, the whole
process and one key's WebSocket chats are each held to their cap while others are served.

Linux gives every address of 127.0.0.0/8 to loopback: the attacker connects from 127.0.0.1, the
good clients from 127.0.0.2 and up.
"""

from __future__ import annotations

import functools
import json
import secrets
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.tenants import Tenant, create_tenant, eventually
from tests.support.ws import chat_socket

# each test's own bound is in it; this one also covers starting a gateway on a busy machine
pytestmark = [pytest.mark.both_shapes, pytest.mark.timeout(400)]

ROOT = Path(__file__).resolve().parents[2]
ATTACKER = "127.0.0.1"
FLOOD = 20_000
FLOOD_PROCESSES = 2  # each process may open at most its open-files limit (20,000 here, hard)
DEFAULT_PER_IP = 500  # server.max_connections_per_ip's default, the shared gateways'

# The tight gateway's limits: small enough to reach in a test.
HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 3.0
PER_IP = 8
MAX_CONNECTIONS = 24
WS_PER_KEY = 2
CUT_WITHIN = 15.0  # seconds: a generous bound on a timeout's cut on a busy machine


def client(source: str, timeout: float = 10.0) -> httpx.Client:
    """An HTTP client whose connections come from `source`, one fresh connection per call."""
    return httpx.Client(
        transport=httpx.HTTPTransport(local_address=source),
        timeout=timeout,
        headers={"Connection": "close"},
    )


def raw(gateway: GatewayProcess, source: str) -> socket.socket:
    sock = socket.create_connection(
        ("127.0.0.1", gateway.port), timeout=10, source_address=(source, 0)
    )
    return sock


def read_all(sock: socket.socket, within: float) -> bytes:
    """What the server sends until it closes (or `within` seconds pass)."""
    sock.settimeout(within)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except (TimeoutError, ConnectionResetError):
        pass
    return b"".join(chunks)


def error_of(answer: bytes) -> dict[str, Any]:
    body = answer.partition(b"\r\n\r\n")[2]
    error: dict[str, Any] = json.loads(body)["error"]
    return error


def chat(http: httpx.Client, gateway: GatewayProcess, key: str) -> httpx.Response:
    return http.post(
        f"{gateway.base_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]},
    )


def test_twenty_thousand_half_open_connections_leave_others_served(
    gateway: GatewayProcess,
) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"flood-{secrets.token_hex(3)}")
    floods = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.half_open",
                "127.0.0.1",
                str(gateway.port),
                str(FLOOD // FLOOD_PROCESSES),
                ATTACKER,
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(FLOOD_PROCESSES)
    ]
    health: Counter[int | str] = Counter()
    try:
        with client("127.0.0.2") as good:
            # while the flood opens its connections, another address is answered
            while any(flood.poll() is None and not _reported(flood) for flood in floods):
                try:
                    health[good.get(f"{gateway.base_url}/healthz").status_code] += 1
                except httpx.HTTPError as error:
                    health[type(error).__name__] += 1
                time.sleep(0.2)
            reports = [json.loads(_line(flood)) for flood in floods]
            # all 20,000 held by the attacker now: still answered
            assert good.get(f"{gateway.base_url}/healthz").status_code == 200
            metrics = good.get(f"{gateway.base_url}/metrics").text
            answer = chat(good, gateway, tenant.key)
            assert answer.status_code == 200, answer.text
            assert answer.json()["choices"][0]["message"]["content"]
    finally:
        for flood in floods:
            if flood.stdin is not None:
                flood.stdin.close()
        for flood in floods:
            flood.wait(timeout=60)
    assert set(health) == {200}, health
    total: Counter[str] = Counter()
    for report in reports:
        total.update({key: value for key, value in report.items() if key != "opened_in"})
    # every connection was made, and the gateway held no more of them than its cap per address
    assert total["failed"] == 0, reports
    assert sum(total.values()) - total["failed"] == FLOOD, reports
    assert total["open"] <= DEFAULT_PER_IP, reports
    # ... as the gateway counts them: its own client connections, all addresses together
    assert _figure(metrics, "fluxrouter_connections_open") <= DEFAULT_PER_IP + 10
    assert (
        _figure(metrics, 'fluxrouter_connections_refused_total{reason="per_ip"}')
        >= (total["refused_429"])
    )
    assert total["refused_429"] >= FLOOD - 3 * DEFAULT_PER_IP, reports


def _figure(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} is not in /metrics")


def _reported(flood: subprocess.Popen[str]) -> bool:
    """Whether the flood process has written its report (it then holds its connections)."""
    import select

    assert flood.stdout is not None
    ready, _, _ = select.select([flood.stdout], [], [], 0)
    return bool(ready)


def _line(flood: subprocess.Popen[str]) -> str:
    assert flood.stdout is not None
    line = flood.stdout.readline()
    assert line, f"the flood process ended with {flood.poll()} before its report"
    return line


@pytest.fixture(scope="module")
def tight_gateway(
    upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """The embedded gateway with limits small enough to reach in a test (the connection limits
    are the same code on both shapes: they act before any request work)."""
    with own_gateway(
        "sqlite",
        tmp_path_factory.mktemp("gateway-tight"),
        functools.partial(
            gateway_config, upstream_url=upstream.base_url, upstream_key=UPSTREAM_KEY
        ),
        upstream_key=UPSTREAM_KEY,
        server={
            "header_timeout": HEADER_TIMEOUT,
            "body_timeout": BODY_TIMEOUT,
            "max_connections_per_ip": PER_IP,
            "max_connections": MAX_CONNECTIONS,
        },
        websocket={"max_connections_per_key": WS_PER_KEY},
    ) as process:
        yield process


@pytest.fixture(scope="module")
def tight_tenant(tight_gateway: GatewayProcess) -> Tenant:
    with tight_gateway.admin() as admin:
        return create_tenant(admin, "tight")


def test_a_client_slow_to_send_its_headers_is_cut_off(tight_gateway: GatewayProcess) -> None:
    sock = raw(tight_gateway, "127.0.0.5")
    started = time.monotonic()
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n")
    sock.settimeout(0.25)
    answer = b""
    while time.monotonic() - started < CUT_WITHIN:
        try:
            sock.sendall(b"X")  # one byte of a header every quarter second, never its end
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
        if not chunk:
            break
        answer += chunk
    answer += read_all(sock, 1.0)
    took = time.monotonic() - started
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in answer
    assert error_of(answer)["code"] == "request_timeout"
    assert HEADER_TIMEOUT - 0.1 <= took < CUT_WITHIN


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
    tight_gateway: GatewayProcess,
) -> None:
    sock = raw(tight_gateway, "127.0.0.5")
    started = time.monotonic()
    answer = read_all(sock, CUT_WITHIN)
    took = time.monotonic() - started
    sock.close()
    assert answer == b""  # nothing to answer: it asked nothing
    assert HEADER_TIMEOUT - 0.1 <= took < CUT_WITHIN


def test_a_client_slow_to_send_its_body_is_answered_408(
    tight_gateway: GatewayProcess, tight_tenant: Tenant
) -> None:
    sock = raw(tight_gateway, "127.0.0.5")
    started = time.monotonic()
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\n"
        b"Authorization: Bearer " + tight_tenant.key.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
        b'{"model": "gpt-4o-mini", "messages": ['
    )
    sock.settimeout(0.25)
    answer = b""
    while time.monotonic() - started < CUT_WITHIN:
        try:
            sock.sendall(b" ")  # a byte of the body every quarter second
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            break
        if not chunk:
            break
        answer += chunk
    answer += read_all(sock, 1.0)
    took = time.monotonic() - started
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert answer.count(b"HTTP/1.1 ") == 1  # the app, told the client left, answers nothing
    assert error_of(answer)["code"] == "request_timeout"
    assert BODY_TIMEOUT - 0.1 <= took < CUT_WITHIN
    assert "http.unhandled" not in tight_gateway.logs()


def _kept_alive(gateway: GatewayProcess, source: str) -> socket.socket:
    """A connection from `source` that asked once and is kept alive (idle, not timed by the
    header timeout: uvicorn's keep-alive timeout, 5 s, closes it)."""
    sock = raw(gateway, source)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
    sock.settimeout(10)
    answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    return sock


def test_one_address_is_held_to_its_cap_while_another_is_served(
    tight_gateway: GatewayProcess,
) -> None:
    held = [_kept_alive(tight_gateway, "127.0.0.6") for _ in range(PER_IP)]
    try:
        one_more = raw(tight_gateway, "127.0.0.6")
        answer = read_all(one_more, 10)
        one_more.close()
        with client("127.0.0.7") as other:
            assert other.get(f"{tight_gateway.base_url}/healthz").status_code == 200
    finally:
        for sock in held:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 429 "), answer
    assert b"retry-after: 1" in answer
    error = error_of(answer)
    assert (error["type"], error["code"]) == ("rate_limit_error", "too_many_connections")
    # once they are closed, the address is served again
    with client("127.0.0.6") as again:
        eventually(lambda: _healthy(again, tight_gateway))


def _healthy(http: httpx.Client, gateway: GatewayProcess) -> bool:
    try:
        return http.get(f"{gateway.base_url}/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def test_the_process_is_held_to_its_cap(tight_gateway: GatewayProcess) -> None:
    held: list[socket.socket] = []
    refused = b""
    try:
        for index in range(MAX_CONNECTIONS + 1):
            source = f"127.0.1.{10 + index // PER_IP}"
            sock = raw(tight_gateway, source)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")
            sock.settimeout(10)
            answer = sock.recv(65536)
            if not answer.startswith(b"HTTP/1.1 200 "):
                refused = answer + read_all(sock, 5)
                sock.close()
                break
            held.append(sock)
    finally:
        for sock in held:
            sock.close()
    assert len(held) <= MAX_CONNECTIONS
    assert refused.startswith(b"HTTP/1.1 503 "), refused
    assert error_of(refused)["code"] == "too_many_connections"
    with client("127.0.0.8") as later:
        eventually(lambda: _healthy(later, tight_gateway))
    metrics = httpx.get(f"{tight_gateway.base_url}/metrics", timeout=10).text
    assert 'fluxrouter_connections_refused_total{reason="server_full"} 1.0' in metrics


async def test_a_key_is_held_to_its_websocket_cap_while_another_key_connects(
    tight_gateway: GatewayProcess, tight_tenant: Tenant
) -> None:
    with tight_gateway.admin() as admin:
        other = create_tenant(admin, f"ws-other-{secrets.token_hex(3)}")
    base = tight_gateway.base_url
    async with chat_socket(base, tight_tenant.key) as first, chat_socket(base, tight_tenant.key):
        async with chat_socket(base, tight_tenant.key, ready=False) as refused:
            message = await refused.recv()
            code = await refused.closed_with()
        assert message["type"] == "error"
        assert message["status"] == 429
        assert message["error"]["code"] == "too_many_connections"
        assert code == 4429
        async with chat_socket(base, other.key) as another:
            await another.ping()
        await first.ping()
    # both closed: the key may connect again
    async with chat_socket(base, tight_tenant.key) as again:
        await again.ping()
