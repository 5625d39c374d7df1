"""What the outbox relay tells the audit log: an event it gave up delivering after its retries
(a dead letter), and a dead letter the operator sent back for delivery."""

from __future__ import annotations

from domains.shared.events import Event


class EventDeadLettered(Event, frozen=True, kw_only=True, tag=True):
    dead_letter_id: str
    dead_event_id: str
    dead_event_type: str
    subscriber: str | None
    error_class: str | None
    attempts: int


class DeadLetterReplayed(Event, frozen=True, kw_only=True, tag=True):
    dead_letter_id: str
    dead_event_id: str
    dead_event_type: str
    actor: str


EVENTS: tuple[type[Event], ...] = (
    EventDeadLettered,
    DeadLetterReplayed,
)
