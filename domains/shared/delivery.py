"""What the outbox relay tells the audit log: an event it gave up delivering after its retries
(a dead letter), and a dead letter the operator sent back for delivery."""

from __future__ import annotations

from domains.shared.events import AuditFacts, Event

RELAY_ACTOR = "system:outbox"


class EventDeadLettered(Event, frozen=True, kw_only=True, tag=True):
    dead_letter_id: str
    dead_event_id: str
    dead_event_type: str
    subscriber: str | None
    error_class: str | None
    attempts: int

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=RELAY_ACTOR,
            action="outbox.dead_lettered",
            target=f"dead_letter:{self.dead_letter_id}",
            data={
                "event_id": self.dead_event_id,
                "event_type": self.dead_event_type,
                "subscriber": self.subscriber,
                "error_class": self.error_class,
                "attempts": self.attempts,
            },
        )


class DeadLetterReplayed(Event, frozen=True, kw_only=True, tag=True):
    dead_letter_id: str
    dead_event_id: str
    dead_event_type: str
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="outbox.replayed",
            target=f"dead_letter:{self.dead_letter_id}",
            data={"event_id": self.dead_event_id, "event_type": self.dead_event_type},
        )
