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

import msgspec
import structlog

from application.conversations.commands import StoreResponse
from application.conversations.response_store import ResponseStore
from domains.shared.caller import Caller

log = structlog.get_logger("fluxrouter.responses")

SECONDS_A_DAY = 86400

_encoder = msgspec.json.Encoder()


class _Found(msgspec.Struct):
    """What a stored response is found by, read from its JSON (the rest is skipped unread)."""

    id: Any = None
    model: Any = None
    status: Any = None


_found = msgspec.json.Decoder(_Found)


def encoded_input_items(items: list[dict[str, Any]]) -> msgspec.Raw:
    """The request's input items as the store takes them: encoded once, here."""
    return msgspec.Raw(_encoder.encode(items))


@dataclass(frozen=True, slots=True)
class Keeping:
    """What storing this request's response takes."""

    store: ResponseStore
    caller: Caller
    input_items: msgspec.Raw
    """Encoded once (`encoded_input_items`)."""
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
        answered = self.as_answered(response)
        found = _Found(answered.get("id"), answered.get("model"), answered.get("status"))
        self._put(msgspec.Raw(_encoder.encode(answered)), found)

    def keep_answer(self, body: bytes) -> None:
        """Hands the response the caller is answered as `body` (its JSON, as an upstream that
        speaks Responses sent it) to the store, as it is: read only for its id, model and
        status, never encoded again."""
        try:
            found = _found.decode(body)
        except msgspec.DecodeError:
            log.warning("responses.store_failed", reason="the response is not a JSON object")
            return
        self._put(msgspec.Raw(body), found)

    def _put(self, encoded: msgspec.Raw, found: _Found) -> None:
        response_id = found.id
        if not isinstance(response_id, str) or not response_id:
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
                response=encoded,
                input_items=self.input_items,
                response_id=response_id,
                model=str(found.model or ""),
                status=str(found.status or "completed"),
                org_id=caller.org_id,
                team_id=caller.team_id,
                key_id=caller.key_id,
                user_id=caller.user_id,
                previous_response_id=self.previous_response_id,
                retention_seconds=float(self.retention_days * SECONDS_A_DAY),
            )
        )
        written.add_done_callback(functools.partial(_failed, response_id[:128]))


def _failed(response_id: str, written: asyncio.Future[None]) -> None:
    """The answer stands; only its record failed."""
    if not written.cancelled() and (error := written.exception()) is not None:
        log.warning("responses.store_failed", response_id=response_id, error=type(error).__name__)
