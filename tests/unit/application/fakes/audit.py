"""The audit context's log over the in-memory store (`AuditUnitOfWork`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from domains.audit.chain import AuditRow


class FakeAuditLog:
    def __init__(self, rows: list[AuditRow], event_ids: set[str]) -> None:
        self._rows = rows
        self._event_ids = event_ids
        self.staged: list[tuple[AuditRow, str | None]] = []
        self.locked = False

    async def lock_head(self, event_ids: Iterable[str]) -> tuple[tuple[int, str] | None, set[str]]:
        self.locked = True
        appended = {i for i in event_ids if i in self._event_ids}
        if not self._rows:
            return None, appended
        head = self._rows[-1]
        return (head.seq, head.hash), appended

    async def append_all(self, rows: Sequence[tuple[AuditRow, str | None]]) -> None:
        assert self.locked, "append without lock_head"
        self.staged.extend(rows)

    def apply(self) -> None:
        for row, event_id in self.staged:
            self._rows.append(row)
            if event_id is not None:
                self._event_ids.add(event_id)
        self.staged = []

    def drop(self) -> None:
        self.staged = []
