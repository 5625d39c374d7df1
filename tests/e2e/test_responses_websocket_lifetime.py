"""The Responses WebSocket's lifetime through the running gateway, on both shapes (a gateway of
the module's own per shape whose connections last 2 seconds, as OpenAI's last 60 minutes): at
the limit a new `response.create` is refused with OpenAI's `websocket_connection_limit_reached`
error, the response already running streams to its end and is billed, and then the gateway
closes the socket with 1001; a new connection carries on."""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.tenants import create_tenant, eventually

LIFETIME = 2.0  # websocket.responses_max_lifetime of the module's gateways
SLOW = "fake-slow-stream"  # natively to OpenAI: one word every 20 ms, one word a token asked
ENDINGS = {"response.completed", "response.incomplete", "response.failed", "error"}


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def gateway(
    request: pytest.FixtureRequest, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    with own_gateway(
        request.param,
        tmp_path_factory.mktemp(f"gateway-responses-ws-lifetime-{request.param}"),
        functools.partial(
            gateway_config, upstream_url=upstream.base_url, upstream_key=UPSTREAM_KEY
        ),
        database_url=request.getfixturevalue("pg_url") if request.param != "sqlite" else None,
        upstream_key=UPSTREAM_KEY,
        websocket={"responses_max_lifetime": LIFETIME, "responses_lifetime_grace": 10},
    ) as process:
        yield process


async def _events(socket: Any) -> list[dict[str, Any]]:
    """Every message until the server closes the socket."""
    seen = []
    async with asyncio.timeout(15):
        try:
            while True:
                seen.append(json.loads(await socket.recv()))
        except ConnectionClosed:
            return seen


async def test_at_its_lifetime_the_socket_finishes_its_response_refuses_more_and_closes(
    gateway: GatewayProcess,
) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"rws-lifetime-{secrets.token_hex(3)}")
    url = gateway.base_url.replace("http://", "ws://") + "/v1/responses"
    headers = {"Authorization": f"Bearer {tenant.key}"}
    async with websockets.connect(url, additional_headers=headers) as socket:
        opened = time.monotonic()
        await asyncio.sleep(LIFETIME / 2)
        create = {"type": "response.create", "model": SLOW, "input": "go", "store": True}
        await socket.send(json.dumps({**create, "stream_id": "long", "max_output_tokens": 100}))
        await asyncio.sleep(opened + LIFETIME + 0.3 - time.monotonic())  # past the limit
        await socket.send(json.dumps({**create, "stream_id": "late"}))
        seen = await _events(socket)
        closed = time.monotonic() - opened
        assert socket.close_code == 1001
        assert socket.close_reason == "websocket_connection_limit_reached"

    [refused] = [event for event in seen if event.get("stream_id") == "late"]
    assert refused["type"] == "error"
    assert refused["status"] == 400
    assert refused["error"]["code"] == "websocket_connection_limit_reached"
    assert refused["error"]["message"].startswith("Responses websocket connection limit reached")
    long = [event for event in seen if event.get("stream_id") == "long"]
    assert long[-1]["type"] == "response.completed", long[-1]
    words = [event["delta"] for event in long if event["type"] == "response.output_text.delta"]
    assert len(words) == 100, "the response running at the limit streamed to its end"
    assert closed > LIFETIME + 0.3, "closed once that response had ended, not at the limit"

    completed = long[-1]["response"]
    with httpx.Client(base_url=gateway.base_url, headers=headers, timeout=30) as http:
        stored = http.get(f"/v1/responses/{completed['id']}")
        assert stored.status_code == 200
        assert stored.json()["status"] == "completed"

        def billed() -> dict[str, Any]:
            with gateway.admin() as admin:
                rows = admin.get("/usage", params={"group_by": "key"}).json()["rows"]
            return next((row for row in rows if row["key"] == tenant.key_id), {})

        assert eventually(billed)["output_tokens"] == completed["usage"]["output_tokens"] == 100

    # a new connection carries on
    async with websockets.connect(url, additional_headers=headers) as socket:
        await socket.send(
            json.dumps({"type": "response.create", "model": "gpt-4o-mini", "input": "hi"})
        )
        async with asyncio.timeout(10):
            while (event := json.loads(await socket.recv()))["type"] not in ENDINGS:
                pass
        assert event["type"] == "response.completed"
