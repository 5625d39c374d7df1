"""The unit of work every context's builds on: one transaction, rolled back unless committed.

It knows no context: each context declares its own protocol over this one with the repositories
it reads and writes (`application/<context>/uow.py`), and its handlers and subscribers type
against that. On commit a unit writes the events its aggregates recorded (and any published
directly) into the outbox in the same transaction; `collect_new_events()` then hands them to the
bus.

A `WaveTransaction` is the one transaction the subscribers of a wave share, each in a unit of work
of its own inside it: one commit (and one connection) a wave instead of one a subscriber, with the
wave marked dispatched in that same commit. Made `whole`, it carries a command and every wave the
command causes instead, all or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Protocol, Self

from domains.shared.events import Event


class UnitOfWork(Protocol):
    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def publish(self, *events: Event) -> None:
        """Events that belong to no aggregate loaded here; they go out with the commit."""
        ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    def collect_new_events(self) -> list[Event]:
        """The events of the last commit, once."""
        ...


class WaveTransaction(Protocol):
    """One transaction shared by the subscribers of a wave, rolled back unless committed.

    Each subscriber gets a unit of work of its own inside it (`unit_of_work()`); a unit that
    fails or does not commit undoes its own changes only (a savepoint, when the transaction
    already holds another unit's work), so subscribers stay isolated from each other's failures.
    What the units committed becomes durable, and their events go out, only with `commit`.

    `whole`: a command's unit and then the units of every wave it causes run in it, with no
    savepoint; the events are written dispatched, but for those a projection reads, which
    `commit` hands on once committed. A unit that ends without committing rolls it all back and
    sets `spoiled`.
    """

    spoiled: bool

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def unit_of_work(self) -> UnitOfWork:
        """A unit of work inside this transaction, for one subscriber's batch."""
        ...

    async def commit(self, dispatched: Sequence[Event]) -> None:
        """Commit what the units kept; `dispatched` (the wave, when every subscriber handled it,
        else nothing) is marked done in the outbox, and handed on, in the same commit."""
        ...

    def collect_new_events(self) -> list[Event]:
        """The events the units committed, once this transaction has committed; once."""
        ...

    def take_kept(self) -> list[Event]:
        """`whole`: the events the units kept since the last call (the next wave), once."""
        ...


class Transactions(Protocol):
    """Where the bus runs its work: a command's own unit of work, and a wave's transaction."""

    def unit_of_work(self) -> UnitOfWork:
        """A unit of work of its own (its own transaction), for a command's handler."""
        ...

    def wave(self, *, whole: bool = False) -> WaveTransaction:
        """The transaction a wave's subscribers share (`whole`: a command and all its waves)."""
        ...
