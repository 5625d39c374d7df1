"""One authenticated Responses WebSocket connection: it reads the client's events one at a
time and runs the responses they ask for.

Responses run in lanes named by `stream_id` (no `stream_id` is a lane of its own): a lane's
responses run one after the other in the order asked, lanes side by side. A connection holds at
most `websocket.max_generations` responses running or waiting; one more is refused (`429
too_many_generations`) and the connection carries on. An event that is not valid is answered
with an `error` and changes nothing. A client that disconnects stops every response it had
running, each billed for what it produced; the ones still waiting are dropped. A connection with
nothing running and no event for `websocket.idle_timeout` seconds is closed with 4408.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

import structlog
from litestar import WebSocket

from interfaces.http.errors import ApiError
from interfaces.ws.credentials import Recheck
from interfaces.ws.decoding import BadMessage, frame_bytes
from interfaces.ws.responses.client_events import Create, Steer, read_event
from interfaces.ws.responses.recent import RecentResponses
from interfaces.ws.responses.server_events import error_event, steer_failed
from interfaces.ws.responses.services import ResponsesSocketServices
from interfaces.ws.responses.turn import Socket, Turn
from interfaces.ws.sender import Sender

log = structlog.get_logger("fluxrouter.ws")

CLOSE_IDLE = 4408
CANCEL_GRACE = 30.0  # how long a closing connection waits for its responses to settle
CLOSE_FLUSH = 5.0
KEPT_RESPONSES = 16  # the connection's responses `previous_response_id` may continue from memory


class _Lane:
    __slots__ = ("current", "task", "waiting")

    def __init__(self) -> None:
        self.waiting: deque[Turn] = deque()
        self.current: Turn | None = None
        self.task: asyncio.Task[None] | None = None


class ResponsesConnection:
    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        services: ResponsesSocketServices,
        recheck: Recheck,
    ) -> None:
        self._socket = socket
        self._settings = services.chat.settings.websocket
        self._sender = Sender(socket, self._settings.send_queue)
        capacity = max(KEPT_RESPONSES, self._settings.max_generations)
        self._shared = Socket(services, self._sender, recheck, RecentResponses(capacity))
        self._lanes: dict[str | None, _Lane] = {}
        self._held = 0  # responses running or waiting
        self.started = 0

    async def run(self) -> str:
        """Serves the connection until it ends; how it ended."""
        self._sender.start()
        ended = "error"
        try:
            ended = await self._read()
        finally:
            await self._end(flush=ended == "idle")
        return ended

    async def _read(self) -> str:
        loop = asyncio.get_running_loop()
        idle = self._settings.idle_timeout
        last = loop.time()
        while True:
            left = idle if self._held else last + idle - loop.time()
            try:
                async with asyncio.timeout(max(left, 0.0)):
                    event = await self._socket.receive()
            except TimeoutError:
                if self._held or loop.time() < last + idle:
                    continue
                await self._sender.close(CLOSE_IDLE, "idle")
                return "idle"
            if event["type"] != "websocket.receive":
                return "disconnect"
            last = loop.time()
            await self._answer(dict(event))

    async def _answer(self, event: dict[str, Any]) -> None:
        try:
            asked = read_event(frame_bytes(event), self._settings.max_message_bytes)
        except BadMessage as bad:
            await self._sender.send_text(error_event(bad.error, bad.generation_id))
            return
        if isinstance(asked, Create):
            await self._create(asked)
        elif isinstance(asked, Steer):
            await self._sender.send_text(steer_failed(asked.raw))

    async def _create(self, create: Create) -> None:
        most = self._settings.max_generations
        if self._held >= most:
            busy = ApiError(
                429,
                f"This connection has {self._held} responses running or waiting, the most it "
                "may; wait for one to end.",
                code="too_many_generations",
            )
            await self._sender.send_text(error_event(busy, create.stream_id))
            return
        lane = self._lanes.get(create.stream_id)
        if lane is None:
            lane = self._lanes[create.stream_id] = _Lane()
        lane.waiting.append(Turn(self._shared, create.body, create.stream_id))
        self._held += 1
        self.started += 1
        self._shared.services.chat.metrics.ws_generations.inc()
        if lane.task is None:
            lane.task = asyncio.create_task(self._drain(create.stream_id, lane), name="ws-lane")

    async def _drain(self, stream_id: str | None, lane: _Lane) -> None:
        """Runs the lane's responses one after the other, then forgets the lane."""
        try:
            while lane.waiting:
                turn = lane.current = lane.waiting.popleft()
                try:
                    await turn.run()
                finally:
                    lane.current = None
                    self._held -= 1
        finally:
            self._held -= len(lane.waiting)
            lane.waiting.clear()
            lane.task = None
            if self._lanes.get(stream_id) is lane:
                del self._lanes[stream_id]

    async def _end(self, *, flush: bool) -> None:
        tasks = set()
        for lane in list(self._lanes.values()):
            self._held -= len(lane.waiting)
            lane.waiting.clear()  # never started: nothing to settle
            if lane.current is not None:
                lane.current.cancellation.request(by_client=False)
            if lane.task is not None:
                tasks.add(lane.task)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=CANCEL_GRACE)
            for task in late:
                task.cancel()
        await self._sender.stop(flush_within=CLOSE_FLUSH if flush else 0.0)


async def serve(
    socket: WebSocket[Any, Any, Any],
    services: ResponsesSocketServices,
    recheck: Recheck,
    key_id: str,
) -> None:
    started = time.perf_counter()
    connection = ResponsesConnection(socket, services, recheck)
    metrics = services.chat.metrics
    log.info("ws.open", key_id=key_id, protocol="responses")
    metrics.ws_connections.inc()
    try:
        ended = await connection.run()
    finally:
        metrics.ws_connections.dec()
    log.info(
        "ws.close",
        key_id=key_id,
        protocol="responses",
        ended=ended,
        responses=connection.started,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )
