"""The providers context's record of the configuration over the in-memory store
(`ProvidersUnitOfWork`)."""

from __future__ import annotations

from domains.providers.config_change import Summary


class FakeConfigRecord:
    def __init__(self, table: dict[str, Summary]) -> None:
        self._table = table
        self.staged: Summary | None = None

    async def current(self) -> Summary | None:
        return self.staged if self.staged is not None else self._table.get("current")

    async def replace(self, previous: Summary | None, current: Summary) -> bool:
        if await self.current() != previous:
            return False
        self.staged = current
        return True

    def apply(self) -> None:
        if self.staged is not None:
            self._table["current"] = self.staged
        self.staged = None

    def drop(self) -> None:
        self.staged = None
