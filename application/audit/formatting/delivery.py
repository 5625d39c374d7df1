"""How the outbox relay's dead letters read as audit rows."""

from __future__ import annotations

from application.audit.formatting.entries import Entry, formats
from domains.audit.facts import AuditFacts
from domains.shared.delivery import DeadLetterReplayed, EventDeadLettered

RELAY_ACTOR = "system:outbox"


def event_dead_lettered(event: EventDeadLettered) -> AuditFacts:
    return AuditFacts(
        actor=RELAY_ACTOR,
        action="outbox.dead_lettered",
        target=f"dead_letter:{event.dead_letter_id}",
        data={
            "event_id": event.dead_event_id,
            "event_type": event.dead_event_type,
            "subscriber": event.subscriber,
            "error_class": event.error_class,
            "attempts": event.attempts,
        },
    )


def dead_letter_replayed(event: DeadLetterReplayed) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="outbox.replayed",
        target=f"dead_letter:{event.dead_letter_id}",
        data={"event_id": event.dead_event_id, "event_type": event.dead_event_type},
    )


ENTRIES: tuple[Entry, ...] = (
    formats(EventDeadLettered, event_dead_lettered),
    formats(DeadLetterReplayed, dead_letter_replayed),
)
