"""The Responses WebSocket's protocol layer over an in-memory socket and a source of responses
that streams like `POST /v1/responses`: lanes side by side and in order, `stream_id` on every
event, hostile frames answered with `error` events, a disconnect that closes the upstream
stream at once, and `previous_response_id` continued from the connection's memory."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest

from domains.providers.errors import InvalidRequest
from domains.shared.caller import Caller
from infrastructure.settings.server import WebSocketSettings
from interfaces.ws.responses.connection import ResponsesConnection
from interfaces.ws.responses.services import ResponsesSocketServices

CALLER = Caller(key_id="k1", key_prefix="fr-abcdefgh", team_id="t1", org_id="o1")
DELAY = 0.01  # between two deltas of a slow response


def _frame(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


@dataclass
class _Streamed:
    headers: Mapping[str, str]
    events: AsyncIterator[bytes] | None


@dataclass
class FakeSource:
    """Streams `Echo: <input>` one word per event, in SSE frames cut at odd places, as the
    route's stream may come; records every body it was asked for and when a stream was closed
    before its end."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    closed_early: list[float] = field(default_factory=list)
    counter: int = 0

    async def __call__(
        self, caller: Caller, body: dict[str, Any], request_id: str, *, on_admitted: Any
    ) -> _Streamed:
        if body.get("model") == "bad":
            raise InvalidRequest("No such model.", param="model")
        self.bodies.append(body)
        if not on_admitted({"x-ratelimit-limit-requests": "10"}):
            raise AssertionError("withdrawn")
        self.counter += 1
        return _Streamed({}, self._events(body, f"resp_{self.counter}"))

    async def _events(self, body: dict[str, Any], response_id: str) -> AsyncIterator[bytes]:
        text = body["input"] if isinstance(body["input"], str) else "items"
        words = ["Echo:", *text.split()]
        slow = body.get("model") == "slow"
        response = {"id": response_id, "object": "response", "status": "in_progress", "output": []}
        finished = False
        try:
            yield _frame("response.created", {"sequence_number": 0, "response": response})
            for i, word in enumerate(words):
                if slow:
                    await asyncio.sleep(DELAY)
                frame = _frame(
                    "response.output_text.delta",
                    {"sequence_number": i + 1, "delta": word, "item_id": "msg_1"},
                )
                yield frame[:7]  # a frame in two pieces
                yield frame[7:]
            output = [
                {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": " ".join(words)}],
                }
            ]
            done = {**response, "status": "completed", "output": output}
            yield _frame(
                "response.completed", {"sequence_number": len(words) + 1, "response": done}
            )
            finished = True
        finally:
            if not finished:
                self.closed_early.append(time.monotonic())


class FakeSocket:
    """The little of Litestar's WebSocket a connection uses, in memory."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.closed: int | None = None
        self.new = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))
        self.new.set()

    async def close(self, code: int, reason: str) -> None:
        self.closed = code

    def send(self, event: dict[str, Any] | str) -> None:
        text = event if isinstance(event, str) else json.dumps(event)
        self.incoming.put_nowait({"type": "websocket.receive", "text": text})

    def leave(self) -> None:
        self.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})

    async def until(self, check: Any, timeout: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            seen = 0
            while True:
                for message in self.sent[seen:]:
                    if check(message):
                        return message
                seen = len(self.sent)
                self.new.clear()
                await self.new.wait()


def _serve(
    source: FakeSource, *, revoked: bool = False, **limits: Any
) -> tuple[FakeSocket, asyncio.Task[str]]:
    socket = FakeSocket()
    settings = SimpleNamespace(websocket=WebSocketSettings(**limits))
    metrics = SimpleNamespace(ws_generations=SimpleNamespace(inc=lambda: None))
    chat = SimpleNamespace(settings=settings, metrics=metrics)
    services = ResponsesSocketServices(chat=cast(Any, chat), create=source)

    async def recheck() -> Caller | None:
        return None if revoked else CALLER

    connection = ResponsesConnection(cast(Any, socket), services, recheck)
    return socket, asyncio.create_task(connection.run())


def _create(text: str, stream_id: str | None = None, **fields: Any) -> dict[str, Any]:
    event = {"type": "response.create", "model": "m", "input": text, **fields}
    if stream_id is not None:
        event["stream_id"] = stream_id
    return event


def _ended(stream_id: str | None) -> Any:
    return lambda m: (
        m.get("stream_id") == stream_id
        and m["type"]
        in {
            "response.completed",
            "error",
        }
    )


async def test_two_lanes_run_side_by_side_and_every_event_names_its_lane() -> None:
    source = FakeSource()
    socket, served = _serve(source)
    socket.send(_create("one two three", "a", model="slow"))
    socket.send(_create("four five six", "b", model="slow"))
    await socket.until(_ended("a"))
    await socket.until(_ended("b"))
    socket.leave()
    assert await served == "disconnect"

    lanes = [m["stream_id"] for m in socket.sent]
    assert set(lanes) == {"a", "b"}
    first_b = lanes.index("b")
    assert first_b < len(lanes) - 1 - lanes[::-1].index("a"), "b ran while a did"
    texts = {
        lane: " ".join(m["delta"] for m in socket.sent if m["stream_id"] == lane and "delta" in m)
        for lane in ("a", "b")
    }
    assert texts == {"a": "Echo: one two three", "b": "Echo: four five six"}
    assert all(body["stream"] is True and "stream_id" not in body for body in source.bodies)


async def test_one_lane_runs_its_responses_in_the_order_asked() -> None:
    source = FakeSource()
    socket, served = _serve(source)
    socket.send(_create("first", model="slow"))
    socket.send(_create("second", model="slow"))
    await socket.until(lambda m: m.get("delta") == "second")
    await socket.until(lambda m: m["type"] == "response.completed" and "second" in str(m))
    socket.leave()
    await served
    kinds = [(m["type"], m.get("delta")) for m in socket.sent]
    assert kinds.index(("response.completed", None)) < kinds.index(
        ("response.output_text.delta", "second")
    )
    assert all("stream_id" not in m for m in socket.sent)


async def test_hostile_frames_are_answered_with_errors_and_the_connection_carries_on() -> None:
    source = FakeSource()
    socket, served = _serve(source, max_message_bytes=2048, max_generations=2)
    socket.send("{not json")
    socket.send(json.dumps([1, 2]))
    socket.send({"type": "response.cancel", "stream_id": "x"})
    socket.send({"input": "no type"})
    socket.send(_create("x" * 4096))
    socket.send(_create("hi", "bg", background=True))
    socket.send(_create("hi", stream_id=""))  # not a lane name
    socket.send(_create("hi", "m", model="bad"))
    await socket.until(lambda m: m.get("stream_id") == "m")
    errors = [m for m in socket.sent if m["type"] == "error"]
    assert [(e["status"], e["error"]["code"]) for e in errors] == [
        (400, "invalid_json"),
        (400, "invalid_json"),
        (400, "unknown_event_type"),
        (400, "missing_required_parameter"),
        (413, "message_too_large"),
        (400, "unsupported_parameter"),
        (400, "invalid_value"),
        (400, "invalid_request"),
    ]
    assert errors[2]["stream_id"] == "x"
    assert errors[7]["error"]["param"] == "model"
    assert errors[7]["error"]["type"] == "invalid_request_error"

    for lane in ("p", "q", "r"):  # two may run or wait; the third is refused
        socket.send(_create("slow words here", lane, model="slow"))
    refused = await socket.until(lambda m: m.get("stream_id") == "r")
    assert refused["status"] == 429
    assert refused["error"]["code"] == "too_many_generations"
    await socket.until(_ended("p"))
    await socket.until(_ended("q"))
    socket.send(_create("after all that", "s"))
    done = await socket.until(_ended("s"))
    assert done["type"] == "response.completed"
    socket.leave()
    await served


async def test_a_disconnect_closes_the_running_stream_at_once_and_drops_the_waiting() -> None:
    source = FakeSource()
    socket, served = _serve(source)
    socket.send(_create(" ".join(["word"] * 500), "long", model="slow"))
    socket.send(_create("never started", "long", model="slow"))
    await socket.until(lambda m: m.get("delta") == "word")
    left = time.monotonic()
    socket.leave()
    await served
    assert len(source.closed_early) == 1
    assert source.closed_early[0] - left < 0.1
    assert len(source.bodies) == 1, "the waiting response was never created"


async def test_previous_response_id_continues_an_unstored_response_from_memory() -> None:
    source = FakeSource()
    socket, served = _serve(source)
    socket.send(_create("remember this", store=False))
    first = await socket.until(_ended(None))
    first_id = first["response"]["id"]
    socket.send(_create("and now", store=False, previous_response_id=first_id))
    second = await socket.until(lambda m: _ended(None)(m) and m is not first)
    socket.send(_create("stored", previous_response_id=second["response"]["id"]))
    third = await socket.until(lambda m: _ended(None)(m) and m not in (first, second))
    socket.send(_create("from the store", previous_response_id=third["response"]["id"]))
    socket.send(_create("elsewhere", previous_response_id="resp_other"))
    await socket.until(lambda m: m["type"] == "response.completed" and "elsewhere" in str(m))
    socket.leave()
    await served

    assert second["response"]["previous_response_id"] == first_id  # as the client named it
    continued = source.bodies[1]
    assert "previous_response_id" not in continued  # nothing of it is stored
    said = first["response"]["output"][0]
    assert continued["input"] == [
        {"type": "message", "role": "user", "content": "remember this"},
        {k: v for k, v in said.items() if k not in ("id", "status")},  # as the upstream takes it
        {"role": "user", "content": "and now"},
    ]
    chained = source.bodies[2]
    assert [item.get("content") for item in chained["input"][::2]] == [
        "remember this",
        "and now",
        "stored",
    ]
    assert "previous_response_id" not in chained
    assert source.bodies[3]["previous_response_id"] == third["response"]["id"]
    assert source.bodies[3]["input"] == "from the store"
    assert source.bodies[4]["previous_response_id"] == "resp_other"


async def test_steering_is_refused_with_the_input_handed_back() -> None:
    socket, served = _serve(FakeSource())
    steer = {"type": "response.steer", "previous_response_id": "resp_1", "input": "faster"}
    socket.send(steer)
    failed = await socket.until(lambda m: m["type"] == "response.steer.failed")
    assert failed["error"]["code"] == "steering_not_supported"
    assert failed["steer"] == {"input": "faster", "previous_response_id": "resp_1"}
    socket.leave()
    await served


async def test_a_key_revoked_while_connected_is_refused_and_the_connection_closed() -> None:
    socket, served = _serve(FakeSource(), revoked=True)
    socket.send(_create("hi", "a"))
    refused = await socket.until(_ended("a"))
    assert refused["status"] == 401
    assert refused["error"]["code"] == "invalid_api_key"
    for _ in range(100):
        if socket.closed is not None:
            break
        await asyncio.sleep(0.01)
    assert socket.closed == 4401
    socket.leave()
    await served


@pytest.mark.parametrize("stream_id", ["x" * 129, 7])
async def test_a_bad_lane_name_is_refused(stream_id: object) -> None:
    socket, served = _serve(FakeSource())
    socket.send({"type": "response.create", "model": "m", "input": "hi", "stream_id": stream_id})
    refused = await socket.until(lambda m: m["type"] == "error")
    assert refused["error"]["param"] == "stream_id"
    socket.leave()
    await served


async def test_a_response_not_generated_prepares_the_conversation_without_the_model() -> None:
    source = FakeSource()
    socket, served = _serve(source)
    socket.send({"type": "response.processed", "response_id": "resp_x"})  # nothing to answer
    socket.send(_create("the setup", "w", generate=False, store=True))
    prepared = await socket.until(_ended("w"))
    assert [m["type"] for m in socket.sent] == [
        "response.created",
        "response.in_progress",
        "response.completed",
    ]
    assert prepared["response"]["output"] == []
    assert prepared["response"]["usage"]["total_tokens"] == 0
    assert prepared["response"]["model"] == "m"
    assert not source.bodies, "the model was never asked"

    previous = prepared["response"]["id"]
    socket.send(_create("the question", "w", previous_response_id=previous, generate=True))
    await socket.until(lambda m: m["type"] == "response.completed" and m is not prepared)
    socket.leave()
    await served
    asked = source.bodies[0]
    assert "generate" not in asked
    assert "previous_response_id" not in asked
    assert [item["content"] for item in asked["input"]] == ["the setup", "the question"]


async def test_an_idle_connection_is_closed_but_not_while_a_response_runs() -> None:
    source = FakeSource()
    socket, served = _serve(source, idle_timeout=1)
    socket.send(_create(" ".join(["word"] * 150), "long", model="slow"))  # 1.5 s of deltas
    done = await socket.until(_ended("long"))
    assert done["type"] == "response.completed"
    assert socket.closed is None, "never idle while a response ran"
    async with asyncio.timeout(3):
        while socket.closed is None:
            await asyncio.sleep(0.05)
    assert socket.closed == 4408
    async with asyncio.timeout(1):  # what it queued went out: nothing more to wait for
        assert await served == "idle"


def _limit_reached(stream_id: str) -> Any:
    return lambda m: (
        m.get("stream_id") == stream_id
        and m["type"] == "error"
        and m["error"]["code"] == "websocket_connection_limit_reached"
    )


async def test_at_its_lifetime_a_connection_takes_no_new_response_and_closes_once_its_end() -> None:
    source = FakeSource()
    socket, served = _serve(source, responses_max_lifetime=1, responses_lifetime_grace=5)
    socket.send(_create(" ".join(["word"] * 150), "long", model="slow"))  # 1.5 s of deltas
    await asyncio.sleep(1.1)
    socket.send(_create("too late", "late"))
    refused = await socket.until(_limit_reached("late"))
    assert refused["status"] == 400
    assert refused["error"]["type"] == "invalid_request_error"
    assert "(1 seconds)" in refused["error"]["message"]
    assert socket.closed is None, "not while a response it took runs"
    done = await socket.until(_ended("long"))
    assert done["type"] == "response.completed"
    async with asyncio.timeout(1):
        while socket.closed is None:
            await asyncio.sleep(0.02)
    assert socket.closed == 1001
    assert len(source.bodies) == 1, "the late response was never created"
    socket.leave()  # the client answers the close
    async with asyncio.timeout(1):
        assert await served == "lifetime"


async def test_past_the_grace_a_running_response_is_stopped_and_the_waiting_dropped() -> None:
    source = FakeSource()
    socket, served = _serve(source, responses_max_lifetime=1, responses_lifetime_grace=0.5)
    socket.send(_create(" ".join(["word"] * 500), "long", model="slow"))  # 5 s of deltas
    socket.send(_create("never started", "long", model="slow"))
    started = time.monotonic()
    async with asyncio.timeout(3):
        assert await served == "lifetime"
    assert 1.5 <= time.monotonic() - started < 4  # the limit, then the grace
    assert len(source.closed_early) == 1, "the running response's upstream was closed"
    assert len(source.bodies) == 1, "the waiting response was never created"
    told = [m for m in socket.sent if _limit_reached("long")(m)]
    assert len(told) == 2  # the stopped and the dropped, after the last event of the stopped
    assert socket.sent[-2:] == told
    assert "grace" in told[0]["error"]["message"]
    assert socket.closed == 1001


async def test_an_idle_connection_is_closed_at_its_lifetime() -> None:
    socket, served = _serve(FakeSource(), responses_max_lifetime=1)
    async with asyncio.timeout(2):
        assert await served == "lifetime"
    assert socket.closed == 1001
    assert socket.sent == []
