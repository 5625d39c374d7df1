"""A client of the WebSocket chat protocol, as an application would hold one: the `websockets`
library on a real socket to the running gateway. Every message received is kept, with the moment
it arrived."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


@dataclass(frozen=True)
class Received:
    at: float  # time.monotonic()
    message: dict[str, Any]


ENDING = ("chat.done", "chat.cancelled", "error")


class ChatSocket:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.received: list[Received] = []
        self._taken: set[int] = set()  # the messages a wait returned, by index

    async def send(self, message: dict[str, Any] | str | bytes) -> float:
        """Sends a message (a dict as JSON; text or bytes as they are); when it was sent."""
        payload = json.dumps(message) if isinstance(message, dict) else message
        await self.connection.send(payload)
        return time.monotonic()

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        try:
            raw = await asyncio.wait_for(self.connection.recv(), timeout)
        except TimeoutError:
            raise TimeoutError(f"nothing received in {timeout:.1f} s; {self.state()}") from None
        message: dict[str, Any] = json.loads(raw)
        self.received.append(Received(time.monotonic(), message))
        return message

    async def until(
        self, done: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> Received:
        """Receives until a message satisfies `done`; that message and when it arrived."""
        deadline = time.monotonic() + timeout
        while True:
            await self.recv(max(deadline - time.monotonic(), 0.001))
            if done(self.received[-1].message):
                self._taken.add(len(self.received) - 1)
                return self.received[-1]

    async def until_end_of(self, generation_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The message that ends a generation: chat.done, chat.cancelled or error. Generations
        interleave, so it may have come already, while another's end was waited for; each end
        is returned once (an id may be used again after its generation ended), and a message an
        earlier wait returned is not returned again."""

        def ends(message: dict[str, Any]) -> bool:
            return message.get("id") == generation_id and message["type"] in ENDING

        for index, received in enumerate(self.received):
            if index not in self._taken and ends(received.message):
                self._taken.add(index)
                return received.message
        return (await self.until(ends, timeout)).message

    def state(self) -> str:
        """What the client side of the connection holds: for a message that never came."""
        connection: Any = self.connection
        transport = connection.transport
        assembler = connection.recv_messages
        local = transport.get_extra_info("sockname")
        sockets = "(no ss)"
        if shutil.which("ss"):
            sockets = subprocess.run(
                ["ss", "-tni", f"( sport = :{local[1]} or dport = :{local[1]} )"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
        return (
            f"state {connection.state.name}, {len(assembler.frames.queue)} frames waiting, "
            f"reading paused by the queue: {assembler.paused}, transport reading: "
            f"{transport.is_reading()}, {len(self.received)} messages received before; "
            f"sockets:\n{sockets}"
        )

    async def ping(self) -> None:
        """Proves the connection alive: a ping is answered with a pong."""
        await self.send({"type": "ping"})
        await self.until(lambda m: m["type"] == "pong", timeout=5)

    def of(self, generation_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            r.message
            for r in self.received
            if r.message.get("id") == generation_id and kind in (None, r.message["type"])
        ]

    def text_of(self, generation_id: str) -> str:
        deltas = self.of(generation_id, "chat.delta")
        return "".join(d["delta"].get("content") or "" for d in deltas)

    async def closed_with(self, timeout: float = 10.0) -> int:
        """Waits for the server to close the connection; the close code."""
        try:
            while True:
                await self.recv(timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else 1006


def ws_url(base_url: str, query: dict[str, str] | None = None) -> str:
    url = base_url.replace("http://", "ws://", 1) + "/v1/ws"
    return f"{url}?{urlencode(query)}" if query else url


@asynccontextmanager
async def chat_socket(
    base_url: str,
    key: str | None = None,
    *,
    first_message: bool = False,
    ready: bool = True,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    **options: Any,
) -> AsyncIterator[ChatSocket]:
    """A connection authenticated with `key` on the upgrade (or, with `first_message`, in an
    `auth` message); with `ready`, past the server's `ready` message. `headers` go on the
    upgrade (a session cookie, an `Origin`), `query` in its URL; `options` go to
    `websockets.connect` (`max_queue=1`: a client that reads slowly)."""
    sent = {"Authorization": f"Bearer {key}"} if key and not first_message else {}
    async with connect(
        ws_url(base_url, query),
        additional_headers={**sent, **(headers or {})},
        max_size=None,
        open_timeout=10,
        **options,
    ) as connection:
        socket = ChatSocket(connection)
        if key and first_message:
            await socket.send({"type": "auth", "key": key})
        if ready:
            assert (await socket.recv())["type"] == "ready"
        yield socket


def chat_start(generation_id: str, text: str, **params: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "chat.start",
        "id": generation_id,
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": text}],
    }
    message.update(params)
    return message
