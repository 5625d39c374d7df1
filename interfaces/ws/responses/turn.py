"""One response on the Responses WebSocket, from its `response.create` to its last event.

It takes the road `POST /v1/responses` takes (the very function that route answers with): the
key is checked again, the model routed, the request admitted against budgets and rate limits,
the upstream called and the call billed however it ends. Its stream events are passed on as
they come, each with the `stream_id` it was asked on. A disconnect stops it the way
`interfaces.ws.cancellation` says: at once while it streams (the upstream call is closed and
billed for what was produced), at its next step before that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from application.providers.completions.request import Withdrawn
from domains.shared.ids import new_id
from infrastructure.adapters.providers.sse import SseSplitter, event_fields
from interfaces.http.errors import ApiError
from interfaces.ws.cancellation import Cancellation, Stopped
from interfaces.ws.credentials import CLOSE_UNAUTHENTICATED, Recheck
from interfaces.ws.responses.prepared import prepared_events
from interfaces.ws.responses.recent import RecentResponses
from interfaces.ws.responses.server_events import error_event, stream_event
from interfaces.ws.responses.services import ResponsesSocketServices
from interfaces.ws.sender import Sender
from interfaces.ws.stream_reader import close_stream

ENDINGS = frozenset({"response.completed", "response.incomplete"})
"""The events whose response can be continued with `previous_response_id`."""


@dataclass(frozen=True, slots=True)
class Socket:
    """What every response of one connection shares."""

    services: ResponsesSocketServices
    sender: Sender
    recheck: Recheck
    recent: RecentResponses


class Turn:
    def __init__(self, socket: Socket, body: dict[str, Any], stream_id: str | None) -> None:
        self.stream_id = stream_id
        self.request_id = new_id()
        self.cancellation = Cancellation()  # asked by the connection when the client leaves
        self._socket = socket
        self._body = body

    async def run(self) -> None:
        """Runs in its lane's task (the one a disconnect interrupts while it streams)."""
        self.cancellation.task = asyncio.current_task()
        try:
            await self._run()
        except asyncio.CancelledError:
            if not self.cancellation.absorb():
                raise  # not ours to absorb (the server is stopping)
        except (Stopped, Withdrawn):
            pass  # the client left: there is no one to tell
        except Exception as error:
            self.cancellation.finishing()
            await self._socket.sender.send_text(error_event(error, self.stream_id))

    async def _run(self) -> None:
        socket = self._socket
        sender = socket.sender
        self.cancellation.check()
        caller = await socket.recheck()
        if caller is None:
            refused = ApiError(401, "The key was revoked or has expired.", code="invalid_api_key")
            await sender.send_text(error_event(refused, self.stream_id))
            await sender.close(CLOSE_UNAUTHENTICATED, "unauthenticated")
            return
        self.cancellation.check()
        body = socket.recent.continued(self._body)
        if body.get("generate") is False:
            await self._prepare(body)
            return
        body = {k: v for k, v in body.items() if k != "generate"}  # true: as every response
        created = await socket.services.create(
            caller, body, self.request_id, on_admitted=self._admitted
        )
        events = created.events
        if events is None:
            raise ApiError(500, "The response was not streamed.", code="server_error")
        splitter = SseSplitter()
        try:
            async for data in events:
                for frame in splitter.feed(data):
                    await self._pass_on(frame, body)
        finally:  # a disconnect while an event waits for room still ends the upstream call here
            await close_stream(events)
        self.cancellation.finishing()
        if (rest := splitter.rest()) is not None:
            await self._pass_on(rest, body)

    async def _pass_on(self, frame: bytes, body: dict[str, Any]) -> None:
        _, payload = event_fields(frame)
        if payload is None or payload == b"[DONE]":
            return
        asked = self._body.get("previous_response_id")  # maybe sent on as the conversation
        found = stream_event(payload, self.stream_id, asked if isinstance(asked, str) else None)
        if found is None:
            return
        text, event = found
        await self._socket.sender.send_text(text)
        response = event.get("response")
        if event.get("type") in ENDINGS and isinstance(response, dict):
            self._socket.recent.keep(body, response)

    async def _prepare(self, body: dict[str, Any]) -> None:
        """`generate: false`: kept on the connection, the model never asked."""
        events, response = prepared_events(body, self.stream_id)
        self.cancellation.finishing()
        for text in events:
            await self._socket.sender.send_text(text)
        self._socket.recent.keep({**body, "store": False}, response)

    def _admitted(self, headers: Mapping[str, str]) -> bool:
        """Admitted: streams from now on, unless the client left while it waited."""
        return self.cancellation.admitted()
