"""The HTTP protocol `serve` runs (`interfaces.http.combined_writes`) under a real uvicorn on a
real socket: a plain answer leaves in one write, a stream's head and chunks each when sent,
keep-alive and WebSocket upgrades as before; and the transport's own rules, write by write."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import websockets

from interfaces.http.combined_writes import CombinedWrites, CombinedWritesHttpToolsProtocol

WRITES: list[bytes] = []


class _Counting:
    """The connection's own transport, with each write it is asked to make noted."""

    def __init__(self, inner: asyncio.Transport) -> None:
        self.inner = inner

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self.inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CountingProtocol(CombinedWritesHttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        counted: Any = _Counting(transport)
        super().connection_made(counted)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        message = await receive()
        await send({"type": "websocket.send", "text": "echo " + message["text"]})
        await send({"type": "websocket.close", "code": 1000})
        return
    while (await receive()).get("more_body"):
        pass
    if scope["path"] == "/plain":
        body = b'{"ok": true}'
        headers = [(b"content-type", b"application/json"), (b"content-length", b"12")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/x")]}
    )
    if scope["path"] == "/burst":  # chunks sent in one turn of the loop
        for part in (b"a", b"b", b"c"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await asyncio.sleep(0.2)
    else:
        await asyncio.sleep(0.2)  # the head goes out alone, at the end of its turn
        for part in (b"one", b"two"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.2)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, http=CountingProtocol, ws="websockets-sansio", log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        await asyncio.sleep(0.01)
    WRITES.clear()
    yield listener.getsockname()[1]
    server.should_exit = True
    await task


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> bytes:
    writer.write(f"GET {path} HTTP/1.1\r\nhost: test\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    return head + await reader.readexactly(12)


async def test_a_plain_answer_leaves_in_one_write_and_the_connection_is_kept(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    first = await _exchange(reader, writer, "/plain")
    second = await _exchange(reader, writer, "/plain")  # the same connection, kept alive
    writer.close()
    for answer in (first, second):
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert answer.endswith(b'\r\n\r\n{"ok": true}')
    assert [first, second] == WRITES


async def test_pipelined_requests_are_answered_in_order(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /plain HTTP/1.1\r\nhost: test\r\n\r\n" * 2)
    await writer.drain()
    answers = []
    for _ in range(2):
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        answers.append(head + await reader.readexactly(12))
    writer.close()
    assert all(answer.endswith(b'\r\n\r\n{"ok": true}') for answer in answers)
    assert b"".join(WRITES) == b"".join(answers)


async def test_an_expected_continue_is_sent_before_the_body_is_read(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /plain HTTP/1.1\r\nhost: test\r\ncontent-length: 5\r\nexpect: 100-continue\r\n\r\n"
    )
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"hello")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    body = await reader.readexactly(12)
    writer.close()
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert body == b'{"ok": true}'


async def test_a_streams_head_and_chunks_each_leave_when_sent(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /stream HTTP/1.1\r\nhost: test\r\n\r\n")
    await writer.drain()
    # the head arrives while the app still waits for its first chunk
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.15)
    assert b"transfer-encoding: chunked" in head
    first = await asyncio.wait_for(reader.readuntil(b"one\r\n"), 0.5)
    assert first == b"3\r\none\r\n"
    rest = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 2)
    writer.close()
    assert rest == b"3\r\ntwo\r\n0\r\n\r\n"
    assert [head, first, b"3\r\ntwo\r\n", b"0\r\n\r\n"] == WRITES


async def test_a_streams_chunks_are_not_held_for_each_other(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /burst HTTP/1.1\r\nhost: test\r\n\r\n")
    await writer.drain()
    await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 2)
    writer.close()
    # three chunks sent in one turn: the head and each chunk in a write of its own
    assert len(WRITES) == 5
    assert WRITES[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert WRITES[1:] == [b"1\r\na\r\n", b"1\r\nb\r\n", b"1\r\nc\r\n", b"0\r\n\r\n"]


async def test_a_websocket_upgrade_gets_the_connections_own_transport(port: int) -> None:
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await ws.send("hi")
        assert await ws.recv() == "echo hi"


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"
STREAM_HEAD = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"


async def test_a_plain_answer_waits_for_the_turns_end_and_a_stream_does_not() -> None:
    inner = _Transport()
    combined = CombinedWrites(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    combined.write(HEAD)
    combined.writelines([b"", b"ok"])  # a plain answer: waits for the turn's end
    assert inner.written == []
    assert combined.get_write_buffer_size() == len(HEAD) + 2
    await asyncio.sleep(0)
    assert inner.written == [HEAD + b"ok"]
    combined.write(STREAM_HEAD)  # a stream: its head and its chunks at once
    combined.write(b"one")
    combined.write(b"two")
    assert inner.written == [HEAD + b"ok", STREAM_HEAD, b"one", b"two"]
    combined.write(HEAD)
    combined.write(b"ok")
    combined.write(STREAM_HEAD)  # the next response a stream: what waits goes first, with it
    assert inner.written[-1] == HEAD + b"ok" + STREAM_HEAD
    combined.write(HEAD)
    combined.close()  # what waits goes before the close
    assert inner.written[-1] == HEAD
    assert inner.closed
    await asyncio.sleep(0)  # the turn's flushes find nothing left
    assert len(inner.written) == 6
    assert combined.get_extra_info("peername") == "info:peername"


async def test_an_abort_drops_what_waits_and_nothing_goes_to_a_closed_connection() -> None:
    inner = _Transport()
    combined = CombinedWrites(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    combined.write(HEAD)
    combined.abort()
    await asyncio.sleep(0)
    assert inner.written == []
    other = _Transport()
    late = CombinedWrites(other, asyncio.get_running_loop())  # type: ignore[arg-type]
    late.write(HEAD)
    other.closed = True  # the peer went away before the turn's end
    await asyncio.sleep(0)
    late.write(b"body")
    assert other.written == []
    with pytest.raises(AttributeError):
        late.no_such_thing  # noqa: B018  (forwarded: the transport's own error)
