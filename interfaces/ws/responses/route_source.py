"""The socket's responses made by `POST /v1/responses`'s own function (`create_response`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domains.shared.caller import Caller
from interfaces.http.responses.create import Created, ResponsesServices, create_response
from interfaces.ws.responses.source import OnAdmitted


@dataclass(frozen=True, slots=True)
class RouteSource:
    """Creates each response as `POST /v1/responses` does, audited as made over the
    WebSocket (`transport: "websocket"`)."""

    services: ResponsesServices

    async def __call__(
        self, caller: Caller, body: dict[str, Any], request_id: str, *, on_admitted: OnAdmitted
    ) -> Created:
        return await create_response(
            self.services,
            caller,
            body,
            request_id,
            transport="websocket",
            on_admitted=on_admitted,
        )
