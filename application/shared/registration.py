"""What no context owns on the bus: events that belong to no aggregate, written as they are."""

from __future__ import annotations

from application.bus import Registry
from application.shared.record_events import RecordEvents, record_events


def register(registry: Registry) -> None:
    registry.handle(RecordEvents, record_events)
