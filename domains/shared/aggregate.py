"""Aggregates record the events their methods cause; the unit of work collects them."""

from __future__ import annotations

from domains.shared.events import Event


class Aggregate:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def record(self, event: Event) -> None:
        self.events.append(event)

    def pull_events(self) -> list[Event]:
        events, self.events = self.events, []
        return events
