"""Storing a finished response (`store` true, the default): the `Response` object as the caller
was answered, and the request's input items, for the caller's org, for
`responses.retention_days`. A stream is stored when its last event (`response.completed`,
`response.incomplete` or `response.failed`) has been read and before it is passed on, or, when
the client leaves before that, as it stands then: `cancelled`, with the output produced.

A response is handed to the store's next group commit (`ResponseStore.put`) and answered
without waiting for the write; a read of it in this process (retrieving it, continuing from it)
waits for the write. A response that could not be stored is still answered (the call happened
and is billed); the failure is logged as `responses.store_failed`."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

import structlog

from application.conversations.commands import StoreResponse
from application.conversations.response_store import ResponseStore
from domains.shared.caller import Caller

log = structlog.get_logger("fluxrouter.responses")

SECONDS_A_DAY = 86400


@dataclass(frozen=True, slots=True)
class Keeping:
    """What storing this request's response takes."""

    store: ResponseStore
    caller: Caller
    input_items: list[dict[str, Any]]
    previous_response_id: str | None
    retention_days: int

    def as_answered(self, response: dict[str, Any]) -> dict[str, Any]:
        """The response as the caller sees it: naming the response it continues (an upstream
        that was sent the whole conversation does not know it)."""
        previous = self.previous_response_id
        if previous is None or response.get("previous_response_id") == previous:
            return response
        return {**response, "previous_response_id": previous}

    def keep(self, response: dict[str, Any]) -> None:
        """Hands the response to the store (written with its next group commit)."""
        if not isinstance(response.get("id"), str) or not response["id"]:
            log.warning("responses.store_failed", reason="the response has no id")
            return
        caller = self.caller
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a stream finalized outside the event loop: nothing can write
            log.warning("responses.store_failed", reason="no event loop to write it")
            return
        written = self.store.put(
            StoreResponse(
                response=self.as_answered(response),
                input_items=self.input_items,
                org_id=caller.org_id,
                team_id=caller.team_id,
                key_id=caller.key_id,
                user_id=caller.user_id,
                previous_response_id=self.previous_response_id,
                retention_seconds=float(self.retention_days * SECONDS_A_DAY),
            )
        )
        written.add_done_callback(functools.partial(_failed, str(response["id"])[:128]))


def _failed(response_id: str, written: asyncio.Future[None]) -> None:
    """The answer stands; only its record failed."""
    if not written.cancelled() and (error := written.exception()) is not None:
        log.warning("responses.store_failed", response_id=response_id, error=type(error).__name__)
