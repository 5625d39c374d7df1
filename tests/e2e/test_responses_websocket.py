"""The Responses API's WebSocket mode through the running gateway, on both shapes (one gateway
of the module's own per shape, with a translated slow model to cut): the official SDK's
`client.responses.connect()` running a translated (Anthropic) and a native (OpenAI) response
side by side on one socket, a function-call round trip continued with `previous_response_id`
(from the connection's memory for `store: false`, from the store otherwise), a disconnect that
stops the upstream at once and bills what was produced, and hostile frames answered with
`error` events."""

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
from openai import AsyncOpenAI
from websockets.exceptions import InvalidStatus

from tests.conftest import UPSTREAM_KEY
from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import FakeOpenAI, StreamAbort
from tests.support.gateway import LIMITS_RELOAD, GatewayProcess, gateway_config, own_gateway
from tests.support.tenants import Tenant, create_tenant, eventually

SLOW = "slowlocal/slow-llama"  # translated to chat: one word every 20 ms from the fake
CHARS_PER_TOKEN = 4  # the gateway's estimate for a stream cut before it reported usage
ENDINGS = {"response.completed", "response.incomplete", "response.failed", "error"}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def gateway(
    request: pytest.FixtureRequest,
    upstream: FakeOpenAI,
    anthropic_upstream: FakeAnthropic,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    """The module's gateway on each shape, with a slow model reached through translation."""
    slow = {
        "name": "slowlocal",
        "kind": "openai-compatible",
        "base_url": upstream.base_url,
        "api_key": "${TEST_UPSTREAM_KEY}",
        "models": [
            {
                "name": "slow-llama",
                "upstream": "fake-slow-stream",
                "price": {"input_per_mtok": 1, "output_per_mtok": 2},
            }
        ],
    }
    with own_gateway(
        request.param,
        tmp_path_factory.mktemp(f"gateway-responses-ws-{request.param}"),
        functools.partial(
            gateway_config,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
            anthropic_url=anthropic_upstream.base_url,
            extra_providers=[slow],
        ),
        database_url=request.getfixturevalue("pg_url") if request.param != "sqlite" else None,
        upstream_key=UPSTREAM_KEY,
    ) as process:
        yield process


def _client(gateway: GatewayProcess, key: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0)


def _budgeted(admin: httpx.Client, name: str) -> Tenant:
    tenant = create_tenant(admin, f"{name}-{secrets.token_hex(3)}")
    answer = admin.put(
        f"/keys/{tenant.key_id}/limits", json={"period": "total", "max_tokens": 1_000_000}
    )
    assert answer.status_code == 200, answer.text
    time.sleep(LIMITS_RELOAD)
    return tenant


def _calls(admin: httpx.Client, tenant: Tenant, expected: int) -> list[dict[str, Any]]:
    """The audit rows of the key's model calls, once there are `expected` of them."""
    params = {"actor": f"key:{tenant.key_id}", "action": "chat.completion", "limit": 1000}
    rows = admin.get("/audit", params=params).json()["rows"]
    return [row["data"] for row in rows] if len(rows) >= expected else []


def _spend(admin: httpx.Client, tenant: Tenant) -> dict[str, Any]:
    rows = admin.get(f"/keys/{tenant.key_id}/spend").json()["periods"]
    return next(row for row in rows if row["period"] == "total")


async def _until_ended(connection: Any, lanes: set[str | None]) -> dict[str | None, list[Any]]:
    """Every event the connection receives, by lane, until each lane's response ended."""
    seen: dict[str | None, list[Any]] = {lane: [] for lane in lanes}
    left = set(lanes)
    async with asyncio.timeout(20):
        while left:
            event = await connection.recv()
            lane = getattr(event, "stream_id", None)
            seen.setdefault(lane, []).append(event)
            if event.type in ENDINGS:
                left.discard(lane)
    return seen


def _text(events: list[Any]) -> str:
    return "".join(e.delta for e in events if e.type == "response.output_text.delta")


async def test_the_sdk_runs_a_translated_and_a_native_response_side_by_side(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, f"rws-two-{secrets.token_hex(3)}")
    async with _client(gateway, tenant.key).responses.connect() as connection:
        await connection.send(
            {
                "type": "response.create",
                "stream_id": "claude",
                "model": "claude-haiku-4-5",
                "input": "hello from the socket",
                "max_output_tokens": 100,
            }
        )
        await connection.send(
            {
                "type": "response.create",
                "stream_id": "gpt",
                "model": "gpt-4o-mini",
                "input": [{"role": "user", "content": "hello natively"}],
            }
        )
        lanes = await _until_ended(connection, {"claude", "gpt"})

    for lane, said in (("claude", "hello from the socket"), ("gpt", "hello natively")):
        events = lanes[lane]
        kinds = [e.type for e in events]
        assert kinds[0] == "response.created", kinds
        assert kinds[-1] == "response.completed", events[-1]
        assert "response.output_text.delta" in kinds
        assert [e.sequence_number for e in events] == list(range(len(events)))
        completed = events[-1].response
        assert completed.output_text == _text(events)
        assert said in completed.output_text
        assert completed.usage is not None
        assert completed.usage.output_tokens > 0
    assert lanes["claude"][-1].response.model.startswith("claude")

    calls = eventually(lambda: _calls(admin, tenant, 2))
    assert {call["transport"] for call in calls} == {"websocket"}
    assert {call["outcome"] for call in calls} == {"ok"}


@pytest.mark.parametrize(("model", "store"), [("claude-haiku-4-5", False), ("gpt-4o-mini", True)])
async def test_a_function_call_round_trip_continues_with_previous_response_id(
    gateway: GatewayProcess, admin: httpx.Client, model: str, store: bool
) -> None:
    tenant = create_tenant(admin, f"rws-tools-{secrets.token_hex(3)}")
    async with _client(gateway, tenant.key).responses.connect() as connection:
        await connection.send(
            {
                "type": "response.create",
                "model": model,
                "store": store,
                "input": "What is the weather in Paris?",
                "tools": [WEATHER],
                "max_output_tokens": 200,
            }
        )
        first = (await _until_ended(connection, {None}))[None]
        asked = first[-1].response
        assert first[-1].type == "response.completed", first[-1]
        calls = [item for item in asked.output if item.type == "function_call"]
        assert len(calls) == 1, asked.output
        assert calls[0].name == "get_weather"
        assert isinstance(json.loads(calls[0].arguments), dict)
        assert any(e.type == "response.function_call_arguments.done" for e in first)

        await connection.send(
            {
                "type": "response.create",
                "model": model,
                "store": store,
                "previous_response_id": asked.id,
                "input": [
                    {
                        "type": "function_call_output",
                        "call_id": calls[0].call_id,
                        "output": "sunny and 21 degrees",
                    }
                ],
                "tools": [WEATHER],
                "max_output_tokens": 200,
            }
        )
        second = (await _until_ended(connection, {None}))[None]
    answered = second[-1]
    assert answered.type == "response.completed", answered
    assert "sunny and 21 degrees" in answered.response.output_text
    assert answered.response.previous_response_id == asked.id

    stored = httpx.get(
        f"{gateway.base_url}/v1/responses/{asked.id}",
        headers={"Authorization": f"Bearer {tenant.key}"},
    )
    assert stored.status_code == (200 if store else 404), stored.text

    # another connection continues a stored response from the store, never an unstored one
    async with _client(gateway, tenant.key).responses.connect() as connection:
        await connection.send(
            {
                "type": "response.create",
                "model": model,
                "previous_response_id": answered.response.id,
                "input": "and tomorrow?",
            }
        )
        later = (await _until_ended(connection, {None}))[None][-1]
    if store:
        assert later.type == "response.completed", later
        assert later.response.previous_response_id == answered.response.id
    else:
        assert later.type == "error", later
        assert later.status in (400, 404)  # as POST /v1/responses answers it
        assert later.error.code == "previous_response_not_found"


async def test_claudes_reasoning_streams_and_a_kept_tool_loop_thinks_on(
    gateway: GatewayProcess, admin: httpx.Client, anthropic_upstream: FakeAnthropic
) -> None:
    """Over the socket, unstored: the reasoning summary streams, and the connection's memory
    gives Claude its signed thinking back when the tool loop goes on."""
    tenant = create_tenant(admin, f"rws-think-{secrets.token_hex(3)}")
    marker = f"socket-thinks-{secrets.token_hex(3)}"
    ask: dict[str, Any] = {
        "type": "response.create",
        "model": "claude-sonnet-4-5",
        "store": False,
        "tools": [WEATHER],
        "reasoning": {"effort": "low", "summary": "auto"},
    }
    async with _client(gateway, tenant.key).responses.connect() as connection:
        await connection.send({**ask, "input": marker})
        first = (await _until_ended(connection, {None}))[None]
        asked = first[-1].response
        assert first[-1].type == "response.completed", first[-1]
        summary = "".join(
            e.delta for e in first if e.type == "response.reasoning_summary_text.delta"
        )
        assert summary == f"Thinking about: {marker}"
        (call,) = [item for item in asked.output if item.type == "function_call"]
        await connection.send(
            {
                **ask,
                "previous_response_id": asked.id,
                "input": [
                    {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
                ],
            }
        )
        second = (await _until_ended(connection, {None}))[None]
    assert second[-1].type == "response.completed", second[-1]
    sent = [r.json for r in anthropic_upstream.requests if marker in json.dumps(r.json)]
    assert len(sent) == 2
    assert all(body["thinking"]["type"] == "enabled" for body in sent)
    assert sent[1]["messages"][1]["content"][0]["type"] == "thinking"


@pytest.mark.parametrize("model", [SLOW, "fake-slow-stream"])  # translated, native
async def test_a_disconnect_stops_the_upstream_at_once_and_bills_what_was_produced(
    gateway: GatewayProcess, upstream: FakeOpenAI, admin: httpx.Client, model: str
) -> None:
    tenant = _budgeted(admin, "rws-cancel")
    marker = secrets.token_hex(4)
    produced: list[str] = []
    async with _client(gateway, tenant.key).responses.connect() as connection:
        await connection.send(
            {
                "type": "response.create",
                "model": model,
                "store": False,
                "input": f"cancel me {marker}",
                "max_output_tokens": 60,
            }
        )
        async with asyncio.timeout(10):
            while len(produced) < 3:
                event = await connection.recv()
                if event.type == "response.output_text.delta":
                    produced.append(event.delta)
        left_at = time.monotonic()  # the socket closes now: the gateway closes the upstream call

    def aborted() -> StreamAbort | None:
        return next((a for a in upstream.aborts if marker in a.prompt), None)

    abort = eventually(aborted, timeout=5)
    assert abort.at - left_at < 0.1, "the upstream saw its stream closed within 100 ms"
    assert abort.chunks_sent < 60

    calls = eventually(lambda: _calls(admin, tenant, 1))
    call = calls[0]
    assert call["outcome"] == "cancelled"
    assert call["transport"] == "websocket"
    assert call["output_tokens"] >= -(-len("".join(produced)) // CHARS_PER_TOKEN)
    assert call["output_tokens"] < 60

    def settled() -> dict[str, Any] | None:
        row = _spend(admin, tenant)
        spent = call["input_tokens"] + call["output_tokens"]
        return row if row["reserved_tokens"] == 0 and row["spent_tokens"] == spent else None

    eventually(settled)  # billed what was produced, nothing still held


async def test_hostile_frames_get_error_events_and_the_socket_carries_on(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, f"rws-hostile-{secrets.token_hex(3)}")
    url = gateway.base_url.replace("http://", "ws://") + "/v1/responses"
    headers = {"Authorization": f"Bearer {tenant.key}"}
    async with websockets.connect(url, additional_headers=headers, max_size=None) as socket:

        async def error_for(frame: str | bytes) -> dict[str, Any]:
            await socket.send(frame)
            async with asyncio.timeout(10):
                answer: dict[str, Any] = json.loads(await socket.recv())
            assert answer["type"] == "error", answer
            return answer

        assert (await error_for("{not json"))["error"]["code"] == "invalid_json"
        assert (await error_for(b"\xff\xfe"))["error"]["code"] == "invalid_json"
        unknown = await error_for(json.dumps({"type": "response.cancel", "stream_id": "z"}))
        assert (unknown["status"], unknown["error"]["code"]) == (400, "unknown_event_type")
        assert unknown["stream_id"] == "z"
        huge = json.dumps({"type": "response.create", "model": "gpt-4o-mini", "input": "x" * 2**20})
        too_large = await error_for(huge)
        assert (too_large["status"], too_large["error"]["code"]) == (413, "message_too_large")
        bad = await error_for(json.dumps({"type": "response.create", "model": "no-such-model"}))
        assert bad["status"] in (400, 404)
        assert bad["error"]["type"] in ("invalid_request_error", "not_found_error")

        lanes = [f"lane{i}" for i in range(9)]  # websocket.max_generations is 8
        for lane in lanes:
            create = {"type": "response.create", "stream_id": lane, "model": SLOW}
            await socket.send(json.dumps({**create, "input": "x", "max_output_tokens": 5}))
        ended: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(20):
            while len(ended) < len(lanes):
                event = json.loads(await socket.recv())
                if event["type"] in ENDINGS:
                    ended[event["stream_id"]] = event
        refused = [lane for lane, event in ended.items() if event["type"] == "error"]
        assert refused == ["lane8"]
        assert ended["lane8"]["status"] == 429
        assert ended["lane8"]["error"]["code"] == "too_many_generations"
        assert all(ended[lane]["type"] == "response.completed" for lane in lanes[:8])

        await socket.send(
            json.dumps({"type": "response.create", "model": "gpt-4o-mini", "input": "still here"})
        )
        async with asyncio.timeout(10):
            while (event := json.loads(await socket.recv()))["type"] not in ENDINGS:
                pass
        assert event["type"] == "response.completed", event


async def test_a_refused_handshake_is_an_http_error_the_sdk_reports(
    gateway: GatewayProcess,
) -> None:
    for key in ("fr-" + "x" * 43, "not-a-key"):
        with pytest.raises(InvalidStatus) as refused:
            async with _client(gateway, key).responses.connect():
                pass
        response = refused.value.response
        assert response.status_code == 401
        assert json.loads(response.body)["error"]["code"] == "invalid_api_key"
        assert key not in response.body.decode()
    url = gateway.base_url.replace("http://", "ws://") + "/v1/responses"
    with pytest.raises(InvalidStatus) as missing:
        async with websockets.connect(url):
            pass
    assert missing.value.response.status_code == 401
    assert json.loads(missing.value.response.body)["error"]["code"] == "missing_api_key"


@pytest.mark.parametrize("model", ["claude-haiku-4-5", "gpt-4o-mini"])
async def test_the_agents_sdk_runs_a_tool_loop_over_the_socket(
    gateway: GatewayProcess, admin: httpx.Client, model: str
) -> None:
    from agents import Agent, function_tool, responses_websocket_session, set_tracing_disabled

    set_tracing_disabled(True)
    asked: list[str] = []

    @function_tool
    def get_weather(query: str) -> str:
        """The weather in a city."""
        asked.append(query)
        return "sunny and 21 degrees"

    tenant = create_tenant(admin, f"rws-agents-{secrets.token_hex(3)}")
    agent = Agent(name="weather", instructions="Answer briefly.", model=model, tools=[get_weather])
    async with responses_websocket_session(
        api_key=tenant.key, base_url=f"{gateway.base_url}/v1"
    ) as session:
        result = await session.run(agent, "What is the weather in Paris?")
    assert len(asked) == 1
    assert "sunny and 21 degrees" in str(result.final_output)
    calls = eventually(lambda: _calls(admin, tenant, 2))
    assert {call["transport"] for call in calls} == {"websocket"}


@pytest.mark.parametrize("model", ["claude-haiku-4-5", "gpt-4o-mini"])
async def test_codex_cli_frames_warm_up_then_continue(
    gateway: GatewayProcess, admin: httpx.Client, model: str
) -> None:
    """What Codex CLI sends: a `generate: false` warm-up, `response.processed`, then the turn
    continuing it, every `response.create` with Codex's own fields."""
    tenant = create_tenant(admin, f"rws-codex-{secrets.token_hex(3)}")
    url = gateway.base_url.replace("http://", "ws://") + "/v1/responses"
    headers = {
        "Authorization": f"Bearer {tenant.key}",
        "OpenAI-Beta": "responses_websockets=2026-02-06",
    }
    common = {
        "type": "response.create",
        "model": model,
        "instructions": "You are a coding agent.",
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "reasoning": None,
        "store": False,
        "stream": True,
        "include": [],
        "prompt_cache_key": secrets.token_hex(8),
        "client_metadata": {"x-codex-turn": "1"},
    }
    setup = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "ls"}]}

    async def turn(socket: Any, frame: dict[str, Any]) -> list[dict[str, Any]]:
        await socket.send(json.dumps(frame))
        events: list[dict[str, Any]] = []
        async with asyncio.timeout(15):
            while not events or events[-1]["type"] not in ENDINGS:
                events.append(json.loads(await socket.recv()))
        return events

    async with websockets.connect(url, additional_headers=headers) as socket:
        warm = await turn(socket, {**common, "input": [setup], "generate": False})
        assert [e["type"] for e in warm] == [
            "response.created",
            "response.in_progress",
            "response.completed",
        ]
        warmed = warm[-1]["response"]
        await socket.send(json.dumps({"type": "response.processed", "response_id": warmed["id"]}))
        question = {**setup, "content": [{"type": "input_text", "text": "what is here"}]}
        frame = {**common, "input": [question], "previous_response_id": warmed["id"]}
        answered = await turn(socket, frame)
    assert answered[-1]["type"] == "response.completed", answered[-1]
    assert "what is here" in answered[-1]["response"]["output"][0]["content"][0]["text"]
    assert answered[-1]["response"]["previous_response_id"] == warmed["id"]
    calls = eventually(lambda: _calls(admin, tenant, 1))
    assert len(calls) == 1, "the warm-up asked no model"


async def test_refusals_are_error_events_with_the_headers_post_would_send(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, f"rws-refused-{secrets.token_hex(3)}", models=["gpt-4o-mini"])
    answer = admin.put(f"/keys/{tenant.key_id}/limits", json={"period": "day", "max_tokens": 50})
    assert answer.status_code == 200, answer.text
    time.sleep(LIMITS_RELOAD)
    async with _client(gateway, tenant.key).responses.connect() as connection:
        await connection.send(
            {
                "type": "response.create",
                "stream_id": "big",
                "model": "gpt-4o-mini",
                "input": "hi",
                "max_output_tokens": 500,
            }
        )
        refused = (await _until_ended(connection, {"big"}))["big"][-1]
        await connection.send(
            {"type": "response.create", "model": "gpt-4o", "input": "hi", "stream_id": "nope"}
        )
        forbidden = (await _until_ended(connection, {"nope"}))["nope"][-1]
        await connection.send(
            {
                "type": "response.create",
                "stream_id": "fits",
                "model": "gpt-4o-mini",
                "input": "hi",
                "max_output_tokens": 16,
            }
        )
        fits = (await _until_ended(connection, {"fits"}))["fits"][-1]
    assert refused.type == "error", refused
    assert refused.status == 429
    assert refused.error.code == "budget_exceeded"
    assert refused.error.type == "insufficient_quota"
    assert refused.error.headers is not None
    assert float(refused.error.headers["retry-after"]) > 0
    assert forbidden.type == "error", forbidden
    assert (forbidden.status, forbidden.error.code) == (403, "model_not_allowed")
    assert fits.type == "response.completed", fits
