"""What the billing context needs from the outside world."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from domains.billing.events import UsageRecorded


class UsageLedger(Protocol):
    async def recorded_sources(self, source_event_ids: Iterable[str]) -> set[str]:
        """The ids among these whose usage is already written (replays change nothing)."""
        ...

    async def add(self, usage: UsageRecorded) -> bool:
        """Writes the usage unless its source event is already recorded; True when written."""
        ...
