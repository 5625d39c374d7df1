"""What the billing context needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domains.billing.events import UsageRecorded


class UsageLedger(Protocol):
    async def add_all(self, usages: Sequence[UsageRecorded]) -> set[str]:
        """Writes each usage unless its source event is already recorded (a replay, or a
        concurrent delivery); the source event ids actually written."""
        ...
