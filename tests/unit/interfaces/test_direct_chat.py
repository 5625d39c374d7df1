"""The ASGI parts of the direct chat route: the body limit, a client that leaves, and answers
whose status line and headers are the ones Litestar's route sends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar, Response, post
from litestar.response import Stream

from interfaces.http.errors import ApiError
from interfaces.http.openai.direct import ClientGone, _answer, _body, _relay
from interfaces.http.openai.routes import SSE_HEADERS

RATE = {"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "599"}


def receiving(*messages: dict[str, Any]) -> Any:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        if queue:
            return queue.pop(0)
        await asyncio.Event().wait()  # a client that stays: nothing more ever comes
        raise AssertionError

    return receive


class Sent:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.complete = asyncio.Event()

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.complete.set()

    @property
    def start(self) -> dict[str, Any]:
        return self.messages[0]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


def body_message(body: bytes, more: bool = False) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


async def test_a_body_in_one_or_many_messages_is_read_whole() -> None:
    assert await _body(receiving(body_message(b'{"a":1}')), 100) == b'{"a":1}'
    parts = receiving(body_message(b'{"a"', True), body_message(b":", True), body_message(b"1}"))
    assert await _body(parts, 100) == b'{"a":1}'


async def test_a_body_over_the_limit_is_a_413_however_it_arrives() -> None:
    with pytest.raises(ApiError) as one:
        await _body(receiving(body_message(b"x" * 101)), 100)
    assert one.value.status == 413
    chunks = [body_message(b"x" * 60, True) for _ in range(5)]
    with pytest.raises(ApiError) as many:
        await _body(receiving(*chunks), 100)
    assert many.value.status == 413


async def test_a_client_gone_before_its_body_leaves_nobody_to_answer() -> None:
    with pytest.raises(ClientGone):
        await _body(receiving({"type": "http.disconnect"}), 100)
    with pytest.raises(ClientGone):
        await _body(receiving(body_message(b"{", True), {"type": "http.disconnect"}), 100)


async def litestar_start(response: Response[Any]) -> dict[str, Any]:
    """The `http.response.start` Litestar sends for a handler's response."""

    @post("/", status_code=200)
    async def handler() -> Response[Any]:
        return response

    app = Litestar([handler], openapi_config=None)
    sent = Sent()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }
    messages = [body_message(b"")]

    async def receive() -> dict[str, Any]:  # as a server does: a disconnect once answered
        if messages:
            return messages.pop(0)
        await sent.complete.wait()
        return {"type": "http.disconnect"}

    await asyncio.wait_for(app(scope, receive, sent), 10)
    return sent.start


async def test_a_plain_answer_has_litestars_status_line_and_headers() -> None:
    body = b'{"id":"chatcmpl-1"}'
    sent = Sent()
    await _answer(sent, 200, body, dict(RATE))
    expected = await litestar_start(Response(body, media_type="application/json", headers=RATE))
    assert sent.start["status"] == expected["status"] == 200
    assert sorted(sent.start["headers"]) == sorted(expected["headers"])
    assert sent.body == body


async def chunks_of(parts: list[bytes], closed: list[bool]) -> AsyncIterator[bytes]:
    try:
        for part in parts:
            yield part
            await asyncio.sleep(0)
    finally:
        closed.append(True)


async def test_a_stream_has_litestars_headers_and_is_relayed_chunk_by_chunk() -> None:
    parts = [b"data: 1\n\n", b"data: 2\n\n", b"data: [DONE]\n\n"]
    closed: list[bool] = []
    sent = Sent()
    await _relay(sent, receiving(), chunks_of(parts, closed), RATE)  # adds SSE's own headers
    expected = await litestar_start(
        Stream(
            chunks_of(parts, []), media_type="text/event-stream", headers={**SSE_HEADERS, **RATE}
        )
    )
    assert sorted(sent.start["headers"]) == sorted(expected["headers"])
    assert [m["body"] for m in sent.messages[1:]] == [*parts, b""]
    assert [m["more_body"] for m in sent.messages[1:]] == [True, True, True, False]
    assert closed == [True]


async def test_a_client_that_leaves_mid_stream_cancels_the_relay_and_closes_the_stream() -> None:
    closed: list[bool] = []
    left = asyncio.Event()

    async def endless() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"data: x\n\n"
                await asyncio.sleep(0.001)
        finally:
            closed.append(True)

    async def receive() -> dict[str, Any]:
        await left.wait()
        return {"type": "http.disconnect"}

    sent = Sent()
    relay = asyncio.create_task(_relay(sent, receive, endless(), {}))
    await asyncio.sleep(0.02)
    left.set()
    await asyncio.wait_for(relay, 5)  # ends by itself, not cancelled
    assert not relay.cancelled()
    assert closed == [True]
    assert len(sent.messages) > 2
    assert all(m.get("more_body") for m in sent.messages[1:])  # the end was never sent


async def test_a_relay_cancelled_from_outside_stays_cancelled() -> None:
    closed: list[bool] = []

    async def slow() -> AsyncIterator[bytes]:
        try:
            await asyncio.sleep(10)
            yield b""
        finally:
            closed.append(True)

    relay = asyncio.create_task(_relay(Sent(), receiving(), slow(), {}))
    await asyncio.sleep(0.01)
    relay.cancel()
    with pytest.raises(asyncio.CancelledError):
        await relay
    assert closed == [True]
