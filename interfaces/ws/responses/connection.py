"""One authenticated Responses WebSocket connection: it reads the client's events one at a
time and runs the responses they ask for.

Responses run in lanes named by `stream_id` (no `stream_id` is a lane of its own): a lane's
responses run one after the other in the order asked, lanes side by side. A connection holds at
most `websocket.max_generations` responses running or waiting; one more is refused (`429
too_many_generations`) and the connection carries on. An event that is not valid is answered
with an `error` and changes nothing. A client that disconnects stops every response it had
running, each billed for what it produced; the ones still waiting are dropped. A connection with
nothing running and no event for `websocket.idle_timeout` seconds is closed with 4408.

A connection lasts `websocket.responses_max_lifetime` seconds (OpenAI's 60 minutes): from then
on every `response.create` is answered with OpenAI's `error` (`400
websocket_connection_limit_reached`), the responses it holds run to their end, and once they have
ended it is closed with 1001 (`websocket_connection_limit_reached`). Any still running
`websocket.responses_lifetime_grace` seconds after the limit is stopped as at a disconnect (and
one still waiting dropped), each told with that `error`, and the connection closed.
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
from interfaces.ws.errors import too_many_generations
from interfaces.ws.responses.client_events import Create, Steer, read_event
from interfaces.ws.responses.recent import RecentResponses
from interfaces.ws.responses.server_events import error_event, steer_failed
from interfaces.ws.responses.services import ResponsesSocketServices
from interfaces.ws.responses.turn import Socket, Turn
from interfaces.ws.sender import Sender

log = structlog.get_logger("fluxrouter.ws")

CLOSE_IDLE = 4408
CLOSE_LIFETIME = 1001  # going away: OpenAI documents the error event, not its close code
LIFETIME_CODE = "websocket_connection_limit_reached"
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
        self._expired = False  # past its lifetime: takes no new response
        self._limit = float("inf")  # when its lifetime ends (the event loop's time)
        self._closing: str | None = None  # why the server closed it, once it did
        self.started = 0

    async def run(self) -> str:
        """Serves the connection until it ends; how it ended."""
        self._sender.start()
        ended = "error"
        try:
            ended = await self._read()
        finally:
            await self._end(flush=ended in ("idle", "lifetime"))
        return ended

    async def _read(self) -> str:
        loop = asyncio.get_running_loop()
        settings = self._settings
        idle = settings.idle_timeout
        last = loop.time()
        self._limit = last + settings.responses_max_lifetime
        stop = self._limit + settings.responses_lifetime_grace
        while True:
            now = loop.time()
            if now >= self._limit:
                self._expired = True
            if self._closing is not None:  # closed by the lane that ended last
                return self._closing
            if self._expired and (not self._held or now >= stop):
                await self._stop_held()
                return await self._close(CLOSE_LIFETIME, LIFETIME_CODE, "lifetime")
            if not self._held and now >= last + idle:
                return await self._close(CLOSE_IDLE, "idle", "idle")
            wake = stop if self._expired else self._limit
            # idle from its last message; with responses held, looked at again that long after
            wake = min(wake, now + idle if self._held else last + idle)
            try:
                async with asyncio.timeout(max(wake - now, 0.0)):
                    event = await self._socket.receive()
            except TimeoutError:
                continue
            if event["type"] != "websocket.receive":
                return self._closing or "disconnect"
            last = loop.time()
            await self._answer(dict(event))

    async def _close(self, code: int, reason: str, ended: str) -> str:
        self._closing = ended
        await self._sender.close(code, reason)
        return ended

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
        if self._expired or asyncio.get_running_loop().time() >= self._limit:
            self._expired = True
            await self._sender.send_text(error_event(self._limit_reached(), create.stream_id))
            return
        busy = too_many_generations(
            self._held,
            self._settings.max_generations,
            f"has {self._held} responses running or waiting",
            "wait for one to end",
        )
        if busy is not None:
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
                    if self._expired and not self._held and self._closing is None:
                        await self._close(CLOSE_LIFETIME, LIFETIME_CODE, "lifetime")  # its last
        finally:
            self._held -= len(lane.waiting)
            lane.waiting.clear()
            lane.task = None
            if self._lanes.get(stream_id) is lane:
                del self._lanes[stream_id]

    def _limit_reached(self, stopped: bool = False) -> ApiError:
        seconds = self._settings.responses_max_lifetime
        lasted = f"{seconds / 60:g} minutes" if seconds % 60 == 0 else f"{seconds:g} seconds"
        message = f"Responses websocket connection limit reached ({lasted})."
        if stopped:
            message += " The response had not ended within the grace after the limit."
        message += " Create a new websocket connection to continue."
        return ApiError(400, message, code=LIFETIME_CODE)

    async def _stop_held(self) -> None:
        """The grace after the lifetime is over: what still waits is dropped, what still runs
        stopped (billed for what it produced), each told so."""
        self._closing = "lifetime"  # no lane closes it meanwhile: the stopped are told first
        stopped: list[Turn] = []
        tasks = set()
        for lane in list(self._lanes.values()):
            stopped.extend(lane.waiting)
            self._held -= len(lane.waiting)
            lane.waiting.clear()
            if lane.current is not None:
                lane.current.cancellation.request(by_client=False)
                stopped.append(lane.current)
            if lane.task is not None:
                tasks.add(lane.task)
        if tasks:
            await asyncio.wait(tasks, timeout=CANCEL_GRACE)
        for turn in stopped:
            await self._sender.send_text(error_event(self._limit_reached(True), turn.stream_id))

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
