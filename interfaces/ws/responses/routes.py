"""`GET /v1/responses` upgraded to a WebSocket: the Responses API's WebSocket mode
(docs/responses.md)."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import WebSocket, websocket

from interfaces.http.dependencies import WsResponses
from interfaces.http.errors import ApiError
from interfaces.ws.responses.connection import serve
from interfaces.ws.responses.handshake import authenticate, deny

log = structlog.get_logger("fluxrouter.ws")


@websocket("/v1/responses", name="responses_socket")
async def responses_socket(
    socket: WebSocket[Any, Any, Any], responses_socket_services: WsResponses
) -> None:
    services = responses_socket_services
    found = await authenticate(socket, services)
    if found is None:
        return
    caller, recheck = found
    held, most = services.chat.ws_keys, services.chat.settings.websocket.max_connections_per_key
    if not held.take(caller.key_id, most):
        log.info("ws.refused", key_id=caller.key_id, reason="too_many_connections")
        busy = ApiError(
            429,
            f"This key holds {most} WebSocket connections open already, the most it may; close "
            "one, or retry later.",
            code="too_many_connections",
        )
        await deny(socket, busy)
        return
    try:
        await socket.accept()
        await serve(socket, services, recheck, caller.key_id)
    finally:
        held.give_back(caller.key_id)


ROUTES = [responses_socket]
