"""The audit context on the bus: a row in the audit log for every event that gives audit facts."""

from __future__ import annotations

from application.audit.subscribers import when_event_append_audit
from application.bus import Registry
from domains.shared.events import Event


def register(registry: Registry) -> None:
    registry.subscribe((Event,), when_event_append_audit, rows_only=True)
