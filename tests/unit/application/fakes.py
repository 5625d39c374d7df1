"""An in-memory unit of work with the repositories of the teams, billing and audit contexts (the
protocols of `application/<context>/uow.py`).

Repositories write into a per-transaction stage that `commit()` applies to a shared `Store`;
leaving the `async with` block without committing drops it. Commit gathers the events of the
aggregates touched plus those published directly; `collect_new_events()` hands them out once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Generic, Self, TypeVar

from domains.audit.chain import AuditRow
from domains.billing.events import UsageRecorded
from domains.shared.aggregate import Aggregate
from domains.shared.events import Event
from domains.teams.model import Org, Team, VirtualKey


@dataclass
class Store:
    """What the 'database' holds across units of work."""

    orgs: dict[str, Org] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    keys: dict[str, VirtualKey] = field(default_factory=dict)
    usage: dict[str, UsageRecorded] = field(default_factory=dict)  # by source_event_id
    audit_rows: list[AuditRow] = field(default_factory=list)
    audit_event_ids: set[str] = field(default_factory=set)
    commits: int = 0


T = TypeVar("T", bound=Aggregate)


class _Repo(Generic[T]):
    def __init__(self, uow: FakeUnitOfWork, table: dict[str, T]) -> None:
        self._uow = uow
        self._table = table
        self.staged: dict[str, T] = {}

    async def add(self, item: T) -> None:
        self._stage(item)

    async def save(self, item: T) -> None:
        self._stage(item)

    async def get(self, item_id: str) -> T | None:
        item = self.staged.get(item_id) or self._table.get(item_id)
        if item is not None:
            self._uow.seen.append(item)
        return item

    def _stage(self, item: T) -> None:
        self.staged[item.id] = item  # type: ignore[attr-defined]
        self._uow.seen.append(item)

    def apply(self) -> None:
        self._table.update(self.staged)
        self.staged = {}


class FakeUsageLedger:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.staged: list[UsageRecorded] = []

    async def recorded_sources(self, source_event_ids: Iterable[str]) -> set[str]:
        return {i for i in source_event_ids if i in self._store.usage}

    async def add_all(self, usages: Sequence[UsageRecorded]) -> set[str]:
        written: set[str] = set()
        for usage in usages:
            taken = usage.source_event_id in self._store.usage or any(
                staged.source_event_id == usage.source_event_id for staged in self.staged
            )
            if not taken:
                self.staged.append(usage)
                written.add(usage.source_event_id)
        return written

    def apply(self) -> None:
        for usage in self.staged:
            self._store.usage[usage.source_event_id] = usage
        self.staged = []


class FakeAuditLog:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.staged: list[tuple[AuditRow, str | None]] = []
        self.locked = False

    async def lock_head(self, event_ids: Iterable[str]) -> tuple[tuple[int, str] | None, set[str]]:
        self.locked = True
        appended = {i for i in event_ids if i in self._store.audit_event_ids}
        if not self._store.audit_rows:
            return None, appended
        head = self._store.audit_rows[-1]
        return (head.seq, head.hash), appended

    async def append_all(self, rows: Sequence[tuple[AuditRow, str | None]]) -> None:
        for row, event_id in rows:
            await self._append(row, event_id)

    async def _append(self, row: AuditRow, event_id: str | None) -> None:
        assert self.locked, "append without lock_head"
        self.staged.append((row, event_id))

    def apply(self) -> None:
        for row, event_id in self.staged:
            self._store.audit_rows.append(row)
            if event_id is not None:
                self._store.audit_event_ids.add(event_id)
        self.staged = []


class FakeUnitOfWork:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: list[Aggregate] = []
        self.orgs = _Repo[Org](self, store.orgs)
        self.teams = _Repo[Team](self, store.teams)
        self.keys = _Repo[VirtualKey](self, store.keys)
        self.usage = FakeUsageLedger(store)
        self.audit = FakeAuditLog(store)
        self._published: list[Event] = []
        self._new_events: list[Event] = []
        self.committed = False
        self.rolled_back = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()  # no-op for what was committed

    def publish(self, *events: Event) -> None:
        self._published.extend(events)

    async def commit(self) -> None:
        for part in (self.orgs, self.teams, self.keys, self.usage, self.audit):
            part.apply()
        events: list[Event] = []
        for aggregate in dict.fromkeys(self.seen):  # each once, in order
            events.extend(aggregate.pull_events())
        events.extend(self._published)
        self._published = []
        self._new_events.extend(events)
        self.store.commits += 1
        self.committed = True

    async def rollback(self) -> None:
        for part in (self.orgs, self.teams, self.keys, self.usage, self.audit):
            part.staged = {} if isinstance(part, _Repo) else []
        self._published = []
        for aggregate in self.seen:
            aggregate.pull_events()
        self.seen = []
        self.rolled_back = not self.committed

    def collect_new_events(self) -> list[Event]:
        events, self._new_events = self._new_events, []
        return events


class UowFactory:
    """Makes units of work over one store and remembers them, for the tests to inspect."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store()
        self.made: list[FakeUnitOfWork] = []

    def __call__(self) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.store)
        self.made.append(uow)
        return uow
