"""Tables of the in-memory store and the per-transaction stage written over them: a repository
writes into its stage, `apply()` (the commit) makes it the store's, `drop()` (a rollback) loses it.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

from domains.shared.aggregate import Aggregate

if TYPE_CHECKING:
    from tests.unit.application.fakes.unit import FakeUnitOfWork

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T", bound=Aggregate)

_REMOVED = object()


class Staged(Generic[K, V]):
    """A store table with the writes of one transaction staged over it."""

    def __init__(self, table: dict[K, V]) -> None:
        self.table = table
        self.staged: dict[K, object] = {}  # a value, or _REMOVED

    def put(self, key: K, value: V) -> None:
        self.staged[key] = value

    def unset(self, key: K) -> None:
        self.staged[key] = _REMOVED

    def read(self, key: K) -> V | None:
        return self.view().get(key)

    def view(self) -> dict[K, V]:
        """The table as this transaction sees it."""
        merged: dict[K, object] = {**self.table, **self.staged}
        return {k: v for k, v in merged.items() if v is not _REMOVED}  # type: ignore[misc]

    def apply(self) -> None:
        for key, value in self.staged.items():
            if value is _REMOVED:
                self.table.pop(key, None)
            else:
                self.table[key] = value  # type: ignore[assignment]
        self.staged = {}

    def drop(self) -> None:
        self.staged = {}


class AggregateRepo(Staged[str, T]):
    """add/get/save of aggregates by id; each one touched is remembered for its events."""

    def __init__(self, uow: FakeUnitOfWork, table: dict[str, T]) -> None:
        super().__init__(table)
        self._uow = uow
        self._loaded: dict[str, T] = {}

    async def add(self, item: T) -> None:
        self._stage(item)

    async def save(self, item: T) -> None:
        self._stage(item)

    async def get(self, item_id: str) -> T | None:
        """A copy of the stored aggregate, as a database would load it: changing it changes
        nothing stored until it is saved and committed. Loaded once a transaction."""
        item = self.read(item_id) if item_id in self.staged else self._loaded.get(item_id)
        if item is None and item_id not in self.staged and item_id in self.table:
            item = self._loaded[item_id] = copy.deepcopy(self.table[item_id])
        if item is not None:
            self._uow.seen.append(item)
        return item

    def apply(self) -> None:
        super().apply()
        self._loaded = {}

    def drop(self) -> None:
        super().drop()
        self._loaded = {}

    def _stage(self, item: T) -> None:
        self.put(item.id, item)  # type: ignore[attr-defined]
        self._uow.seen.append(item)
