"""What the audit context needs from the outside world."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from domains.audit.chain import AuditRow


class AuditLog(Protocol):
    async def lock_head(self) -> tuple[int, str] | None:
        """Serialise appends to the chain and give the head (seq, hash), or None when empty."""
        ...

    async def appended_events(self, event_ids: Iterable[str]) -> set[str]:
        """The ids among these already appended (replays append nothing)."""
        ...

    async def append_all(self, rows: Sequence[tuple[AuditRow, str | None]]) -> None:
        """Appends the rows (each with the event it records), in order, in one go."""
        ...
