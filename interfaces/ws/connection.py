"""One authenticated WebSocket chat connection: it reads the client's messages one at a time and
answers each, running its generations side by side (at most `websocket.max_generations`).

A message that is not valid is answered with an `error` and changes nothing; the connection
stays open. A client that disconnects has every generation it was running cancelled, settled
like a cancel. A connection with nothing running and no message for `websocket.idle_timeout`
seconds is closed with 4408.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any

import structlog
from litestar import WebSocket

from interfaces.http.errors import ApiError
from interfaces.ws.credentials import Recheck
from interfaces.ws.decoding import BadMessage, frame_bytes, read_message
from interfaces.ws.errors import error_out, too_many_generations
from interfaces.ws.generation import Generation, Session
from interfaces.ws.messages import (
    PROTOCOL_VERSION,
    Auth,
    ChatCancel,
    ChatStart,
    Ping,
    Pong,
    Ready,
)
from interfaces.ws.sender import Sender
from interfaces.ws.services import ChatServices

log = structlog.get_logger("fluxrouter.ws")

CLOSE_IDLE = 4408
RECENT_IDS = 256  # ids of finished generations a late cancel is still quietly accepted for
CANCEL_GRACE = 30.0  # how long a closing connection waits for its generations to settle
CLOSE_FLUSH = 5.0


class Connection:
    def __init__(self, socket: WebSocket[Any, Any, Any], services: ChatServices, recheck: Recheck):
        self._socket = socket
        self._settings = services.settings.websocket
        self._sender = Sender(socket, self._settings.send_queue)
        self._session = Session(services, self._sender, recheck)
        self._live: dict[str, Generation] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._last_activity = 0.0
        self.started = 0

    async def run(self) -> str:
        """Serves the connection until it ends; how it ended."""
        self._sender.start()
        await self._sender.send(
            Ready(
                protocol=PROTOCOL_VERSION,
                max_generations=self._settings.max_generations,
                max_message_bytes=self._settings.max_message_bytes,
            )
        )
        ended = "error"
        try:
            ended = await self._read()
        finally:
            await self._end(flush=ended == "idle")
        return ended

    async def _read(self) -> str:
        loop = asyncio.get_running_loop()
        idle = self._settings.idle_timeout
        self._last_activity = loop.time()
        while True:
            left = idle if self._live else self._last_activity + idle - loop.time()
            try:
                async with asyncio.timeout(max(left, 0.0)):
                    event = await self._socket.receive()
            except TimeoutError:
                if self._live or loop.time() < self._last_activity + idle:
                    continue
                await self._sender.close(CLOSE_IDLE, "idle")
                return "idle"
            if event["type"] != "websocket.receive":
                return "disconnect"
            self._last_activity = loop.time()
            await self._answer(dict(event))

    async def _answer(self, event: dict[str, Any]) -> None:
        try:
            message, raw = read_message(frame_bytes(event), self._settings.max_message_bytes)
        except BadMessage as bad:
            await self._sender.send(error_out(bad.error, bad.generation_id))
            return
        if isinstance(message, ChatStart):
            await self._start(message, raw)
        elif isinstance(message, ChatCancel):
            await self._cancel(message.id)
        elif isinstance(message, Ping):
            await self._sender.send(Pong())
        elif isinstance(message, Auth):
            already = ApiError(
                400, "The connection is authenticated already.", code="already_authenticated"
            )
            await self._sender.send(error_out(already))

    async def _start(self, start: ChatStart, raw: dict[str, Any]) -> None:
        if start.id in self._live:
            duplicate = ApiError(
                409,
                f"A generation with the id `{start.id}` is running on this connection.",
                code="duplicate_id",
                param="id",
            )
            await self._sender.send(error_out(duplicate, start.id))
            return
        held = len(self._live)
        busy = too_many_generations(
            held,
            self._settings.max_generations,
            f"runs {held} generations already",
            "wait for one to end or cancel one",
        )
        if busy is not None:
            await self._sender.send(error_out(busy, start.id))
            return
        generation = Generation(self._session, start, raw)
        self._live[generation.id] = generation
        self.started += 1
        self._session.services.metrics.ws_generations.inc()
        task = generation.start()
        task.add_done_callback(lambda done: self._ended(generation, done))

    def _ended(self, generation: Generation, task: asyncio.Task[None]) -> None:
        if self._live.get(generation.id) is generation:
            del self._live[generation.id]
        self._recent[generation.id] = None
        while len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)
        self._last_activity = asyncio.get_running_loop().time()
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("ws.generation_failed", exc_info=error)

    async def _cancel(self, generation_id: str) -> None:
        generation = self._live.get(generation_id)
        if generation is not None:
            generation.cancellation.request(by_client=True)
            return
        if generation_id in self._recent:
            return  # it ended before the cancel arrived: its chat.done or error was sent
        unknown = ApiError(
            404,
            f"No generation with the id `{generation_id}` is running on this connection.",
            code="unknown_generation",
            param="id",
        )
        await self._sender.send(error_out(unknown, generation_id))

    async def _end(self, *, flush: bool) -> None:
        running = list(self._live.values())
        for generation in running:
            generation.cancellation.request(by_client=False)
        tasks = {task for generation in running if (task := generation.cancellation.task)}
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=CANCEL_GRACE)
            for task in late:
                task.cancel()
        await self._sender.stop(flush_within=CLOSE_FLUSH if flush else 0.0)


async def serve(
    socket: WebSocket[Any, Any, Any], services: ChatServices, recheck: Recheck, key_id: str
) -> None:
    started = time.perf_counter()
    connection = Connection(socket, services, recheck)
    log.info("ws.open", key_id=key_id)
    services.metrics.ws_connections.inc()
    try:
        ended = await connection.run()
    finally:
        services.metrics.ws_connections.dec()
    log.info(
        "ws.close",
        key_id=key_id,
        ended=ended,
        generations=connection.started,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )
