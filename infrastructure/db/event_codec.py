"""Events to and from bytes: msgspec JSON, tagged with the class name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Union

import msgspec

from domains.providers.events import CompletionFinished
from domains.shared.events import Event


class EventCodec:
    def __init__(self, event_types: Iterable[type[Event]]) -> None:
        types = tuple(event_types)
        self.types = {t.__name__: t for t in types}
        self._encoder = msgspec.json.Encoder(decimal_format="string")
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(Union[types])  # noqa: UP007

    def encode(self, event: Event) -> bytes:
        if isinstance(event, CompletionFinished) and event.bodies is not None:
            # a call's bodies are kept only scrubbed, in `request_bodies`: never in the outbox
            event = msgspec.structs.replace(event, bodies=None)
        return self._encoder.encode(event)

    def decode(self, payload: bytes | str) -> Event:
        event: Event = self._decoder.decode(payload)
        return event


def all_event_types() -> list[type[Event]]:
    """Every concrete event of every context (the outbox may hold any of them): the `EVENTS`
    each context's events module exports, and the outbox relay's own."""
    from domains.billing import events as billing
    from domains.conversations import events as conversations
    from domains.providers import events as providers
    from domains.shared import delivery
    from domains.teams import events as teams

    exported = (
        teams.EVENTS,
        billing.EVENTS,
        conversations.EVENTS,
        providers.EVENTS,
        delivery.EVENTS,
    )
    return [event_type for events in exported for event_type in events]
