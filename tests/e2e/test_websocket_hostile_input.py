"""Bad messages on the WebSocket chat: each is answered with an `error` in the OpenAI shape, the
connection stays open, and nothing is stored, billed or sent upstream half-way. Idle and
unauthenticated connections are closed on time."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess
from tests.support.services import postgres_database
from tests.support.tenants import Tenant, create_tenant
from tests.support.ws import ChatSocket, chat_socket, chat_start

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

MAX_MESSAGE_BYTES = 1048576  # the default `websocket.max_message_bytes`
MAX_GENERATIONS = 8


async def _error_for(socket: ChatSocket, frame: dict[str, Any] | str | bytes) -> dict[str, Any]:
    """Sends a bad frame; the error it gets. The connection must still answer a ping."""
    await socket.send(frame)
    error = (await socket.until(lambda m: m["type"] == "error")).message
    await socket.ping()
    return error


@pytest.mark.parametrize(
    ("frame", "status", "code", "param"),
    [
        ("{not json", 400, "invalid_json", None),
        ("", 400, "invalid_json", None),
        ("[1, 2, 3]", 400, "invalid_json", None),
        ('"chat.start"', 400, "invalid_json", None),
        ("[" * 100_000, 400, "invalid_json", None),
        ({"id": "x"}, 400, "invalid_value", "type"),
        ({"type": "chat.stop", "id": "x"}, 400, "unknown_message_type", "type"),
        ({"type": 7}, 400, "unknown_message_type", "type"),
        ({"type": "chat.start", "model": "gpt-4o-mini"}, 400, "invalid_value", "id"),
        ({"type": "chat.start", "id": "x"}, 400, "invalid_value", "model"),
        ({"type": "chat.start", "id": "", "model": "m"}, 400, "invalid_value", "id"),
        ({"type": "chat.start", "id": 5, "model": "m"}, 400, "invalid_value", "id"),
        (
            {"type": "chat.start", "id": "x", "model": "gpt-4o-mini"},
            400,
            "invalid_value",
            "messages",
        ),
        (
            {"type": "chat.start", "id": "x", "model": "gpt-4o-mini", "messages": "hi"},
            400,
            "invalid_value",
            "messages",
        ),
        (
            {"type": "chat.start", "id": "x", "model": "gpt-4o-mini", "messages": [{"r": 1}]},
            400,
            "invalid_value",
            "messages[0].role",
        ),
        (chat_start("x", "hi", temperature=9), 400, "invalid_value", "temperature"),
        (chat_start("x", "hi", n=2), 400, "invalid_value", "n"),
        (chat_start("x", "hi", prompt={"name": 5}), 400, "invalid_value", "prompt.name"),
        (chat_start("x", "hi", conversation_id="nope"), 404, "conversation_not_found", None),
        (
            chat_start("x", "hi", conversation_id="a", conversation={}),
            400,
            "invalid_value",
            "conversation",
        ),
        ({"type": "chat.cancel"}, 400, "invalid_value", "id"),
        ({"type": "chat.cancel", "id": "never-started"}, 404, "unknown_generation", "id"),
        ({"type": "auth", "key": "fr-whatever"}, 400, "already_authenticated", None),
    ],
)
async def test_a_bad_message_gets_an_error_and_the_connection_stays(
    gateway: GatewayProcess,
    tenant: Tenant,
    frame: dict[str, Any] | str,
    status: int,
    code: str,
    param: str | None,
) -> None:
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        error = await _error_for(socket, frame)
    assert error["status"] == status, error
    assert error["error"]["code"] == code, error
    assert error["error"]["param"] == param, error
    assert set(error["error"]) == {"message", "type", "param", "code"}
    assert error["error"]["message"]
    if isinstance(frame, dict) and isinstance(frame.get("id"), str) and frame["id"]:
        assert error["id"] == frame["id"]


async def test_an_oversized_message_is_refused_and_the_connection_stays(
    gateway: GatewayProcess, tenant: Tenant
) -> None:
    big = chat_start("big", "x" * MAX_MESSAGE_BYTES)
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        error = await _error_for(socket, big)
        await socket.send(chat_start("after", "still here"))
        done = await socket.until_end_of("after")
    assert error["status"] == 413
    assert error["error"]["code"] == "message_too_large"
    assert "id" not in error  # the message was not read at all
    assert done["type"] == "chat.done"


async def test_binary_frames_carry_json_too(gateway: GatewayProcess, tenant: Tenant) -> None:
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(json.dumps(chat_start("bin", "in bytes")).encode())
        done = await socket.until_end_of("bin")
        error = await _error_for(socket, b"\xff\xfe not utf-8")
    assert done["type"] == "chat.done"
    assert error["error"]["code"] == "invalid_json"


async def test_a_duplicate_live_id_and_one_generation_too_many_are_refused(
    gateway: GatewayProcess, tenant: Tenant
) -> None:
    slow = {"model": "fake-slow-stream", "max_tokens": 200}
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        for i in range(MAX_GENERATIONS):
            await socket.send(chat_start(f"g{i}", "x", **slow))
        duplicate = await _error_for(socket, chat_start("g0", "again", **slow))
        busy = await _error_for(socket, chat_start("one-more", "x", **slow))
        for i in range(MAX_GENERATIONS):
            await socket.send({"type": "chat.cancel", "id": f"g{i}"})
        ends = [await socket.until_end_of(f"g{i}") for i in range(MAX_GENERATIONS)]
        await socket.send(chat_start("g0", "an id is free again once its generation ended"))
        again = await socket.until_end_of("g0")
    assert duplicate["status"] == 409
    assert duplicate["error"]["code"] == "duplicate_id"
    assert busy["status"] == 429
    assert busy["error"]["code"] == "too_many_generations"
    assert busy["id"] == "one-more"
    assert {end["type"] for end in ends} == {"chat.cancelled"}
    assert again["type"] == "chat.done"


async def test_a_late_cancel_of_a_finished_generation_is_harmless(
    gateway: GatewayProcess, tenant: Tenant
) -> None:
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(chat_start("quick", "done soon"))
        assert (await socket.until_end_of("quick"))["type"] == "chat.done"
        await socket.send({"type": "chat.cancel", "id": "quick"})
        await socket.ping()
    assert [m["type"] for m in socket.of("quick")][-1] == "chat.done"


def test_nothing_is_stored_sent_or_billed_for_bad_messages(
    gateway: GatewayProcess, upstream: FakeOpenAI, admin: httpx.Client
) -> None:
    import asyncio

    tenant = create_tenant(admin, f"ws-nothing-{secrets.token_hex(3)}")
    marker = secrets.token_hex(4)
    bad = [
        chat_start("a", marker, conversation={"title": "t"}, temperature=-1),
        chat_start("b", marker, conversation={"title": "t"}, model="no-such-model"),
        chat_start("c", marker, conversation={"title": "t"}, prompt={"name": "no-such"}),
        {**chat_start("d", marker, conversation={"title": 3})},
        chat_start("e", marker, conversation_id="missing"),
    ]

    async def send_all() -> list[dict[str, Any]]:
        async with chat_socket(gateway.base_url, tenant.key) as socket:
            return [await _error_for(socket, frame) for frame in bad]

    errors = asyncio.run(send_all())
    assert [e["status"] for e in errors] == [400, 404, 404, 400, 404]
    assert not [r for r in upstream.requests if marker in json.dumps(r.json)]
    conversations = admin.get("/conversations", params={"team_id": tenant.team_id})
    assert conversations.status_code == 200, conversations.text
    assert conversations.json()["rows"] == []
    spend = admin.get(f"/keys/{tenant.key_id}/spend").json()["periods"]
    assert all(row["spent_tokens"] == 0 and row["reserved_tokens"] == 0 for row in spend)


# -- the timers, on a gateway of their own -----------------------------------------------------


@pytest.fixture(scope="module")
def timed(
    gateway: GatewayProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """A gateway whose WebSocket timers are short, set through the environment."""
    workdir: Path = tmp_path_factory.mktemp("gateway-ws-timers")
    config = yaml.safe_load(Path(gateway.env["FLUXROUTER_CONFIG"]).read_text())
    with postgres_database() as url:
        config["database"]["url"] = url
        config["redis"]["url"] = None
        process = GatewayProcess(
            workdir, config, admin_key=gateway.admin_key, upstream_key=UPSTREAM_KEY
        )
        process.env["FLUXROUTER_WEBSOCKET_IDLE_TIMEOUT"] = "1.0"
        process.env["FLUXROUTER_WEBSOCKET_AUTH_TIMEOUT"] = "0.5"
        process.start()
        yield process
        process.stop()


async def test_a_connection_that_never_authenticates_is_closed_with_4401(
    timed: GatewayProcess,
) -> None:
    async with chat_socket(timed.base_url, ready=False) as socket:
        error = await socket.recv(timeout=5)
        assert error["error"]["code"] == "missing_api_key"
        assert await socket.closed_with() == 4401


async def test_an_idle_connection_is_closed_but_a_busy_one_is_not(timed: GatewayProcess) -> None:
    with timed.admin() as admin:
        tenant = create_tenant(admin, "ws-idle")
    async with chat_socket(timed.base_url, tenant.key) as socket:
        # 60 words at 20 ms: busy for longer than the idle timeout, silent all along
        await socket.send(chat_start("long", "x", model="fake-slow-stream", max_tokens=60))
        assert (await socket.until_end_of("long"))["type"] == "chat.done"
        assert await socket.closed_with(timeout=5) == 4408
