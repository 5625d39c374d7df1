"""The bus's transactions over the in-memory store: a command's own unit of work, and a wave's
transaction whose units keep their work staged until the wave commits (or drop it with it)."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

from domains.shared.events import Event
from tests.unit.application.fakes import FakeUnitOfWork, Store


class FakeTransactions:
    """Remembers the units, the waves and what each wave's commit marked dispatched."""

    def __init__(self, store: Store | None = None, *, failing_commits: int = 0) -> None:
        self.store = store or Store()
        self.made: list[FakeUnitOfWork] = []
        self.waves: list[FakeWave] = []
        self.marked: list[list[Event]] = []
        """What each committed wave marked dispatched, in order."""
        self.failing_commits = failing_commits
        """How many wave commits fail (the next ones) before they succeed again."""

    def unit_of_work(self) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.store)
        self.made.append(uow)
        return uow

    def wave(self, *, whole: bool = False) -> FakeWave:
        wave = FakeWave(self, whole=whole)
        self.waves.append(wave)
        return wave


class FakeWave:
    def __init__(self, owner: FakeTransactions, *, whole: bool) -> None:
        self.owner = owner
        self.whole = whole
        self.spoiled = False
        self.units: list[WaveUnit] = []
        self.committed = False
        self._kept: list[WaveUnit] = []
        self._unseen: list[Event] = []
        self._new_events: list[Event] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.committed:
            for unit in self._kept:
                await FakeUnitOfWork.rollback(unit)
            self._kept = []

    def unit_of_work(self) -> WaveUnit:
        unit = WaveUnit(self)
        self.units.append(unit)
        return unit

    async def commit(self, dispatched: Sequence[Event]) -> None:
        if self.owner.failing_commits:
            self.owner.failing_commits -= 1
            raise RuntimeError("the wave's commit failed")
        for unit in self._kept:
            unit.apply()
        self.owner.store.commits += 1
        self.owner.marked.append(list(dispatched))
        self.committed = True
        self._new_events = [event for unit in self._kept for event in unit.events]

    def collect_new_events(self) -> list[Event]:
        events, self._new_events = self._new_events, []
        return events

    def take_kept(self) -> list[Event]:
        events, self._unseen = self._unseen, []
        return events

    def keep(self, unit: WaveUnit) -> None:
        self._kept.append(unit)
        self._unseen.extend(unit.events)

    def discard(self) -> None:
        if self.whole:
            self.spoiled = True


class WaveUnit(FakeUnitOfWork):
    """A unit of work inside a wave: its commit keeps its work staged for the wave's commit."""

    def __init__(self, wave: FakeWave) -> None:
        super().__init__(wave.owner.store)
        self.wave = wave
        self.events: list[Event] = []

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.committed:
            await self.rollback()

    async def commit(self) -> None:
        for aggregate in dict.fromkeys(self.seen):
            self.events.extend(aggregate.pull_events())
        self.events.extend(self._published)
        self._published = []
        self.committed = True
        self.wave.keep(self)

    async def rollback(self) -> None:
        await super().rollback()
        if not self.committed:
            self.wave.discard()
