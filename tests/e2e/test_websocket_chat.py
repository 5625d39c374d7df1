"""The WebSocket chat protocol through a real WebSocket client against the running gateway
(PostgreSQL, Redis, a separate worker): generations side by side on one connection, a cancel
that stops the upstream and the spending at once, a disconnect that cancels everything, and the
same keys, budgets, routing and audit as /v1/chat/completions."""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.openai_upstream import FakeOpenAI, StreamAbort
from tests.support.gateway import LIMITS_RELOAD, GatewayProcess
from tests.support.tenants import Tenant, create_tenant, eventually
from tests.support.ws import chat_socket, chat_start

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

SLOW = "fake-slow-stream"  # one word every 20 ms
CHARS_PER_TOKEN = 4  # the gateway's estimate for a stream cut before it reported usage


def _budgeted(admin: httpx.Client, name: str, max_tokens: int = 1_000_000) -> Tenant:
    tenant = create_tenant(admin, f"{name}-{secrets.token_hex(3)}")
    answer = admin.put(
        f"/keys/{tenant.key_id}/limits", json={"period": "total", "max_tokens": max_tokens}
    )
    assert answer.status_code == 200, answer.text
    return tenant


def _spend(admin: httpx.Client, tenant: Tenant) -> dict[str, Any]:
    rows = admin.get(f"/keys/{tenant.key_id}/spend").json()["periods"]
    return next(row for row in rows if row["period"] == "total")


def _completions(
    admin: httpx.Client, tenant: Tenant, *, expected: int = 1
) -> dict[str, dict[str, Any]]:
    """The audit rows of the key's calls by request id, once there are `expected` of them."""
    params = {"actor": f"key:{tenant.key_id}", "action": "chat.completion", "limit": 1000}
    rows = admin.get("/audit", params=params).json()["rows"]
    return {row["data"]["request_id"]: row for row in rows} if len(rows) >= expected else {}


def _abort_of(upstream: FakeOpenAI, marker: str) -> StreamAbort | None:
    return next((a for a in upstream.aborts if marker in a.prompt), None)


def _content_deltas(socket_messages: list[dict[str, Any]]) -> int:
    return sum(1 for m in socket_messages if m["delta"].get("content"))


async def test_one_of_two_generations_is_cancelled_mid_stream_and_the_connection_carries_on(
    gateway: GatewayProcess, upstream: FakeOpenAI, admin: httpx.Client
) -> None:
    tenant = _budgeted(admin, "ws-cancel")
    time.sleep(LIMITS_RELOAD)
    marker = secrets.token_hex(4)
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(chat_start("a", f"cancel me {marker}", model=SLOW, max_tokens=60))
        await socket.send(chat_start("b", "let me finish", model=SLOW, max_tokens=40))
        await socket.until(lambda m: m.get("id") == "a" and _content_deltas([m]) == 1)
        while _content_deltas(socket.of("a", "chat.delta")) < 3:
            await socket.recv()
        sent_at = await socket.send({"type": "chat.cancel", "id": "a"})
        cancelled = await socket.until(lambda m: m["type"] == "chat.cancelled")
        done_b = await socket.until_end_of("b")
        await socket.send(chat_start("c", "and one more", model=SLOW, max_tokens=5))
        done_c = await socket.until_end_of("c")

    assert cancelled.message["id"] == "a"
    assert cancelled.at - sent_at < 0.3, "chat.cancelled within 300 ms"
    abort = eventually(lambda: _abort_of(upstream, marker), timeout=5)
    assert abort.at - sent_at < 0.2, "the upstream saw the connection close within 200 ms"
    assert abort.chunks_sent < 60

    produced = socket.text_of("a")
    assert produced.startswith("tok1 tok2 tok3")
    assert len(produced.split()) < 60
    usage = cancelled.message["usage"]
    assert usage["estimated"] is True  # cut before the upstream reported it
    assert usage["completion_tokens"] == math.ceil(len(produced) / CHARS_PER_TOKEN)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert not socket.of("a", "chat.done")

    assert done_b["type"] == "chat.done", done_b
    assert done_b["finish_reason"] == "stop"
    assert socket.text_of("b") == " ".join(f"tok{i}" for i in range(1, 41))
    assert done_b["usage"]["completion_tokens"] == 40
    assert done_b["usage"]["estimated"] is False
    assert done_c["type"] == "chat.done", done_c
    assert socket.text_of("c") == "tok1 tok2 tok3 tok4 tok5"

    billed = [cancelled.message["usage"], done_b["usage"], done_c["usage"]]
    spent = sum(u["total_tokens"] for u in billed)

    def settled() -> dict[str, Any] | None:
        row = _spend(admin, tenant)
        return row if row["reserved_tokens"] == 0 and row["spent_tokens"] == spent else None

    eventually(settled)  # billed exactly what each message said, nothing still held
    rows = eventually(lambda: _completions(admin, tenant, expected=3))
    row = rows[cancelled.message["request_id"]]
    assert row["data"]["outcome"] == "cancelled"
    assert row["data"]["transport"] == "websocket"
    assert row["data"]["output_tokens"] == usage["completion_tokens"]
    assert rows[done_b["request_id"]]["data"]["outcome"] == "ok"


async def test_a_generation_streams_the_same_deltas_and_usage_as_sse(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "ws-done")
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(chat_start("g1", "hello over the socket", temperature=0.5))
        done = await socket.until_end_of("g1")
        deltas = socket.of("g1", "chat.delta")
    assert done["type"] == "chat.done", done
    assert deltas[0]["delta"] == {"role": "assistant", "content": ""}
    assert socket.text_of("g1") == "Echo: hello over the socket"
    assert done["finish_reason"] == "stop"
    assert done["usage"] == {
        "prompt_tokens": 4,
        "completion_tokens": 5,
        "total_tokens": 9,
        "prompt_tokens_details": {"cached_tokens": 0},
        "estimated": False,
    }
    rows = eventually(lambda: _completions(admin, tenant))
    assert rows[done["request_id"]]["data"]["transport"] == "websocket"


async def test_tool_calls_arrive_as_openai_deltas(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "ws-tools")
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(chat_start("t", "find cats", tools=[tool]))
        done = await socket.until_end_of("t")
        deltas = [m["delta"] for m in socket.of("t", "chat.delta")]
    assert done["finish_reason"] == "tool_calls"
    assert deltas[0]["tool_calls"][0]["function"]["name"] == "lookup"
    arguments = "".join(d["tool_calls"][0]["function"]["arguments"] for d in deltas)
    assert arguments == '{"query": "find cats"}'


async def test_a_client_that_disconnects_cancels_what_it_had_running(
    gateway: GatewayProcess, upstream: FakeOpenAI, admin: httpx.Client
) -> None:
    tenant = _budgeted(admin, "ws-gone")
    time.sleep(LIMITS_RELOAD)
    markers = [secrets.token_hex(4), secrets.token_hex(4)]
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        for i, marker in enumerate(markers):
            await socket.send(chat_start(f"g{i}", f"gone {marker}", model=SLOW, max_tokens=200))
        for i in range(2):
            await socket.until(lambda m, i=i: m.get("id") == f"g{i}" and m["type"] == "chat.delta")
        left_at = time.monotonic()
    aborts = [eventually(lambda m=m: _abort_of(upstream, m), timeout=5) for m in markers]
    assert all(abort.at - left_at < 1.0 for abort in aborts)

    def settled() -> dict[str, Any] | None:
        row = _spend(admin, tenant)
        return row if row["reserved_tokens"] == 0 and row["spent_tokens"] > 0 else None

    row = eventually(settled)
    rows = eventually(lambda: _completions(admin, tenant, expected=2))
    assert {r["data"]["outcome"] for r in rows.values()} == {"cancelled"}
    assert row["spent_tokens"] == sum(
        r["data"]["input_tokens"] + r["data"]["output_tokens"] for r in rows.values()
    )


async def test_keys_are_taken_on_the_upgrade_or_in_a_first_message(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "ws-auth")
    async with chat_socket(gateway.base_url, tenant.key, first_message=True) as socket:
        await socket.send(chat_start("x", "browser"))
        assert (await socket.until_end_of("x"))["type"] == "chat.done"

    async with chat_socket(gateway.base_url, "fr-" + "x" * 43, ready=False) as socket:
        refused = await socket.recv()
        assert refused["type"] == "error"
        assert refused["status"] == 401
        assert refused["error"]["code"] == "invalid_api_key"
        assert await socket.closed_with() == 4401

    async with chat_socket(gateway.base_url, ready=False) as socket:
        await socket.send({"type": "ping"})  # anything but `auth` first is refused
        assert (await socket.recv())["error"]["code"] == "missing_api_key"
        assert await socket.closed_with() == 4401

    async with chat_socket(gateway.base_url, ready=False) as socket:
        await socket.send({"type": "auth", "key": "not-a-key"})
        assert (await socket.recv())["error"]["code"] == "invalid_api_key"
        assert await socket.closed_with() == 4401

    def refused_rows() -> list[dict[str, Any]]:
        params = {"action": "auth.refused", "limit": 1000}
        rows = admin.get("/audit", params=params).json()["rows"]
        return [row for row in rows if row["data"].get("surface") == "ws"]

    assert eventually(refused_rows)


async def test_a_key_revoked_while_connected_is_refused_at_its_next_generation(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "ws-revoked")
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(chat_start("before", "still fine"))
        assert (await socket.until_end_of("before"))["type"] == "chat.done"
        assert admin.delete(f"/keys/{tenant.key_id}").status_code == 200
        await socket.send(chat_start("after", "refused now"))
        refused = await socket.until_end_of("after")
        assert refused["error"]["code"] == "invalid_api_key"
        assert await socket.closed_with() == 4401


async def test_refusals_are_errors_in_the_openai_shape_and_the_connection_stays(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "ws-refusals", models=["gpt-4o-mini", SLOW])
    answer = admin.put(f"/keys/{tenant.key_id}/limits", json={"period": "day", "max_tokens": 50})
    assert answer.status_code == 200
    time.sleep(LIMITS_RELOAD)
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(chat_start("unknown", "hi", model="no-such-model"))
        await socket.send(chat_start("forbidden", "hi", model="gpt-4o"))
        await socket.send(chat_start("budget", "hi", max_tokens=500))
        await socket.send(chat_start("upstream", "hi", model="fake-error-429"))
        ends = {g: await socket.until_end_of(g) for g in ("unknown", "forbidden", "budget")}
        await socket.ping()
        await socket.send(chat_start("fits", "hi", max_tokens=5))
        fits = await socket.until_end_of("fits")

    assert ends["unknown"]["status"] == 404
    assert ends["unknown"]["error"]["code"] == "model_not_found"
    assert ends["unknown"]["error"]["type"] == "not_found_error"
    assert ends["forbidden"]["status"] == 403
    assert ends["forbidden"]["error"]["code"] == "model_not_allowed"
    assert ends["budget"]["status"] == 429
    assert ends["budget"]["error"]["code"] == "budget_exceeded"
    assert ends["budget"]["error"]["type"] == "insufficient_quota"
    assert ends["budget"]["retry_after"] > 0
    assert socket.of("upstream")[-1]["error"]["code"] == "model_not_allowed"
    assert fits["type"] == "chat.done"
    assert fits["usage"]["total_tokens"] <= 50


async def test_many_generations_interleave_on_one_connection(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, "ws-many")
    ids = [f"g{i}" for i in range(6)]
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        for generation_id in ids:
            await socket.send(chat_start(generation_id, "x", model=SLOW, max_tokens=10))
        ends = [await socket.until_end_of(g) for g in ids]
    assert [end["type"] for end in ends] == ["chat.done"] * len(ids)
    order = [r.message["id"] for r in socket.received if r.message["type"] == "chat.delta"]
    first, last = order.index("g0"), len(order) - 1 - order[::-1].index("g0")
    assert set(order[first : last + 1]) == set(ids)  # all ran while g0 did
    assert all(socket.text_of(g).split() == [f"tok{i}" for i in range(1, 11)] for g in ids)


async def test_a_client_that_reads_slowly_never_makes_the_gateway_buffer(
    gateway: GatewayProcess, upstream: FakeOpenAI, admin: httpx.Client
) -> None:
    """The client stops reading while the model floods it: the gateway stops reading the
    upstream instead of buffering, its memory stays flat, and nothing is lost or reordered."""
    tenant = create_tenant(admin, "ws-slow-reader")
    marker = secrets.token_hex(4)
    words = 5_000_000
    async with chat_socket(gateway.base_url, tenant.key, max_queue=1) as socket:
        flood = chat_start("flood", f"flood {marker}", model="fake-flood-stream", max_tokens=words)
        await socket.send(flood)
        await socket.until(lambda m: m["type"] == "chat.delta")
        await asyncio.sleep(1.0)  # the pipe between them fills up
        before = _rss_kib(gateway.pid)
        await asyncio.sleep(STALL)  # the client reads nothing
        grown = _rss_kib(gateway.pid) - before
        assert _abort_of(upstream, marker) is None, "the upstream is held back, not finished"
        for _ in range(2000):
            await socket.recv()
    abort = eventually(lambda: _abort_of(upstream, marker), timeout=10)
    assert abort.chunks_sent < words
    assert grown < 16 * 1024, f"the gateway grew by {grown} KiB while the client read nothing"
    text = socket.text_of("flood").split()
    assert text == [f"tok{i}" for i in range(1, len(text) + 1)]


STALL = 3.0


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("model", ["claude-haiku-4-5", "gemini-2.5-flash", "local/llama3.1"])
async def test_routing_reaches_every_kind_of_provider(
    gateway: GatewayProcess, admin: httpx.Client, model: str
) -> None:
    tenant = create_tenant(admin, f"ws-{model.replace('/', '-')}")
    async with chat_socket(gateway.base_url, tenant.key) as socket:
        await socket.send(chat_start("r", "route me", model=model, max_tokens=50))
        done = await socket.until_end_of("r")
    assert done["type"] == "chat.done", done
    assert "route me" in socket.text_of("r")
    assert done["usage"]["completion_tokens"] > 0
    assert done["usage"]["estimated"] is False
