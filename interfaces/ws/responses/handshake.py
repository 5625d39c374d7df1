"""Who opens a Responses WebSocket: the virtual key on the upgrade request
(`Authorization: Bearer`, or `x-api-key`), as OpenAI's WebSocket mode takes its API key.

A refused upgrade is answered as OpenAI answers one, with the HTTP status and OpenAI error JSON
`POST /v1/responses` would answer with (the WebSocket client reports the status, e.g. the SDK's
`InvalidStatus: HTTP 401`): 401 for a missing, wrong, revoked or expired key, 429 for an address
that had too many credentials refused or a key that holds `websocket.max_connections_per_key`
connections already. Refusals are audited and counted as on the WebSocket chat (`surface:
"ws"`), never with the key.
"""

from __future__ import annotations

import contextlib
from typing import Any

import msgspec
from litestar import WebSocket
from litestar.types.asgi_types import WebSocketResponseBodyEvent, WebSocketResponseStartEvent

from domains.shared.caller import Caller
from interfaces.http.container import bearer_token
from interfaces.http.errors import ApiError, openai_error_of
from interfaces.http.refusals import note_refused
from interfaces.ws.credentials import SURFACE, Recheck, check_key, refuse
from interfaces.ws.responses.services import ResponsesSocketServices

DENIAL = "websocket.http.response"
"""The ASGI extension a server offers when it can answer an upgrade with an HTTP response."""


async def authenticate(
    socket: WebSocket[Any, Any, Any], services: ResponsesSocketServices
) -> tuple[Caller, Recheck] | None:
    """The caller and how to ask again; None once the upgrade has been refused."""
    secret = bearer_token(socket, x_api_key=True)
    if secret is None:
        note_refused(socket, SURFACE, None, "missing")
        missing = ApiError(
            401,
            "You didn't provide an API key. Send it on the upgrade: `Authorization: Bearer <key>`.",
            code="missing_api_key",
        )
        await deny(socket, missing)
        return None
    found = await check_key(socket, services.chat, secret)
    if isinstance(found, ApiError):
        await deny(socket, found)
        return None
    return found


async def deny(socket: WebSocket[Any, Any, Any], error: ApiError) -> None:
    """Refuses the upgrade with `error` as an HTTP answer; where the server cannot answer an
    upgrade that way, accepts it, sends the `error` event and closes it (4401, 4429)."""
    status, body, headers = openai_error_of(error)
    if DENIAL not in (socket.scope.get("extensions") or {}):
        await socket.accept()
        await refuse(socket, error.message, code=error.code or "", status=status)
        return
    payload = msgspec.json.encode({"error": body})
    sent = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    sent += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    with contextlib.suppress(Exception):  # the client may be gone already
        await socket.receive()  # the upgrade request itself
        start: WebSocketResponseStartEvent = {
            "type": "websocket.http.response.start",
            "status": status,
            "headers": sent,
        }
        await socket.send(start)
        end: WebSocketResponseBodyEvent = {
            "type": "websocket.http.response.body",
            "body": payload,
            "more_body": False,
        }
        await socket.send(end)
