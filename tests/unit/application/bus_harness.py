"""The whole bus as the gateway wires it (`registry_for`: every context's real `register`), over
the in-memory unit of work: what the command handler tests send their commands through.

`events` is every event published, in order (the first wave, then the waves it caused); the
store is what the handlers committed.
"""

from __future__ import annotations

from typing import Any, TypeVar

from application.billing.limits_cache import LimitsCache
from application.bus import MessageBus, Registry
from application.shared.uow import UnitOfWork
from domains.billing.limits import LimitsSnapshot
from domains.shared.events import Command, Event
from interfaces.common_wiring import registry_for
from tests.unit.application.fake_transactions import FakeTransactions
from tests.unit.application.fakes import Store

E = TypeVar("E", bound=Event)


def registry(limits: LimitsCache | None = None) -> Registry:
    """What the gateway routes, in a process without Redis nor other replicas."""
    return registry_for(
        limits=limits or LimitsCache(_no_limits), authenticator=None, sessions=None, broadcast=None
    )


async def _no_limits() -> LimitsSnapshot:
    return LimitsSnapshot()


class Bus:
    def __init__(self) -> None:
        self.transactions = FakeTransactions()
        self.store: Store = self.transactions.store
        self.events: list[Event] = []
        self.limits = LimitsCache(self._load_limits)
        self.registry = registry(self.limits)
        self.registry.subscribe((Event,), self._seen, rows_only=True)
        self.bus = MessageBus(self.registry, self.transactions)

    async def _seen(self, events: list[Event], uow: UnitOfWork) -> None:
        self.events.extend(events)
        async with uow:
            await uow.commit()

    async def _load_limits(self) -> LimitsSnapshot:
        tables = self.store.limits
        return LimitsSnapshot.of(
            budgets=tables.budgets.values(),
            rate_limits=tables.rate_limits.values(),
            prices=dict(tables.prices),
        )

    async def handle(self, command: Command) -> Any:
        return await self.bus.handle(command)

    async def quietly(self, command: Command) -> Any:
        """Handles the command, then forgets the events it caused (a test's setting up)."""
        result = await self.bus.handle(command)
        self.events.clear()
        return result

    def only(self, kind: type[E]) -> E:
        """The one event of that type published."""
        found = [event for event in self.events if isinstance(event, kind)]
        assert len(found) == 1, f"{kind.__name__}: {found!r} in {self.events!r}"
        return found[0]

    def kinds(self) -> list[str]:
        return [type(event).__name__ for event in self.events]
