"""How the providers context's events read as audit rows."""

from __future__ import annotations

from application.audit.formatting.entries import Entry, formats
from domains.audit.facts import AuditFacts
from domains.providers.events import CompletionFinished, ConfigChanged
from domains.shared.events import Event


def config_changed(event: ConfigChanged) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="config.change",
        target="config",
        data={
            "digest": event.digest,
            "added": event.added,
            "removed": event.removed,
            "changed": event.changed,
        },
    )


ENTRIES: tuple[Entry, ...] = (formats(ConfigChanged, config_changed),)

# the call is audited once charged, as billing's UsageRecorded, with its cost
NOT_AUDITED: tuple[type[Event], ...] = (CompletionFinished,)
