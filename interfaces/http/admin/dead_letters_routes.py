"""Dead letters through the admin API: the events the outbox relay gave up delivering after its
retries (keyset-paged), and replaying one (delivered again at once, its retries renewed).

Dead letters come from every org and name the gateway's subscribers, so only the operator's
admin key reads or replays them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.params import Parameter

from infrastructure.messaging.dead_letters import DeadLetterView
from interfaces.http.admin.guard import require_admin
from interfaces.http.dependencies import Bus, Caller, Relay

LetterId = Annotated[str, Parameter(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


class DeadLetterOut(msgspec.Struct):
    id: str
    event_id: str
    event_type: str
    subscriber: str | None  # the one that failed last
    error_class: str | None
    error_message: str | None  # redacted, at most 300 characters
    attempts: int  # the first delivery and every retry
    first_failed_at: datetime | None
    dead_lettered_at: datetime
    replayed_at: datetime | None
    replayed_by: str | None


class DeadLetterPageOut(msgspec.Struct):
    dead_letters: list[DeadLetterOut]
    next_after: str | None


class ReplayOut(msgspec.Struct):
    dead_letter: DeadLetterOut
    delivered: bool
    """Whether every subscriber handled it this time; if not, the relay retries it."""


def letter_out(letter: DeadLetterView) -> DeadLetterOut:
    return DeadLetterOut(
        id=letter.id,
        event_id=letter.event_id,
        event_type=letter.event_type,
        subscriber=letter.subscriber,
        error_class=letter.error_class,
        error_message=letter.error_message,
        attempts=letter.attempts,
        first_failed_at=letter.first_failed_at,
        dead_lettered_at=letter.dead_lettered_at,
        replayed_at=letter.replayed_at,
        replayed_by=letter.replayed_by,
    )


class DeadLettersController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: dead letters"]

    @get(
        "/dead-letters",
        summary="Events the outbox relay gave up on, oldest first, keyset-paged by id",
        description="Page on with `after` = the answer's `next_after` (null on the last page). "
        "`pending=true`: only those not replayed; `pending=false`: only those replayed.",
    )
    async def dead_letters(
        self,
        relay: Relay,
        principal: Caller,
        after: Annotated[str | None, Parameter(max_length=64, pattern=r"^[0-9a-f]+$")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        pending: bool | None = None,
    ) -> DeadLetterPageOut:
        principal.require_root()
        letters = await relay.dead_letters.page(after=after, limit=limit, pending=pending)
        out = [letter_out(letter) for letter in letters]
        return DeadLetterPageOut(
            dead_letters=out, next_after=out[-1].id if len(out) == limit else None
        )

    @post(
        "/dead-letters/{letter_id:str}/replay",
        status_code=200,
        summary="Deliver a dead letter's event again, with its retries renewed",
        description="404 for an unknown id, 409 once replayed. `delivered` says whether every "
        "subscriber handled it now; if not, the relay retries it and may dead-letter it again.",
    )
    async def replay(
        self, relay: Relay, bus: Bus, principal: Caller, letter_id: LetterId
    ) -> ReplayOut:
        principal.require_root()
        replay = await relay.replay(letter_id, actor=principal.actor, publish=bus.publish)
        delivered = await relay.dead_letters.delivered(replay.event.event_id)
        return ReplayOut(dead_letter=letter_out(replay.letter), delivered=delivered)
