"""The in-process message bus: a command goes to exactly one handler, an event to many.

The contexts register their handlers and subscribers in a `Registry` (each context's
`registration.register`); the bus is built from it and refuses a registry that breaks the rule
of `whole` commands below.

Subscribers receive events in batches (a list of one event type), each batch in a unit of work
of its own; the events they cause go out in the next wave. The units of a wave share one
transaction (`WaveTransaction`), which also marks the wave dispatched: one commit a wave. A
failing subscriber undoes its own work only; it is logged and leaves the events of its batch in
the outbox, where the relay retries them later (the wave's other events are marked done):
subscribers are idempotent, so a replay changes nothing. Each failure (which subscriber, which
events, the error) goes to `on_failed` once the wave's transaction has ended, for the relay to
keep. If the wave's commit fails, nothing of it is kept and it stays in the outbox for the relay.

A command registered `whole` runs with every wave it causes in one transaction, all or nothing:
one commit, the outbox rows written dispatched, no savepoint. A batch of finished calls then
costs two transactions instead of three. This is safe only if every subscriber its events reach
writes through its unit of work and nothing else (no broadcast, no cache, no call out): such an
effect could happen for a transaction that is then rolled back, or be seen before the commit. So
a subscriber says so when registered (`rows_only`), the bus refuses at construction a `whole`
command whose declared events reach any other, and a `whole` run that would reach one anyway is
abandoned before it does. If a subscriber fails or leaves its unit without committing, or the
commit fails, nothing is kept and the command runs again the careful way above, which isolates
the failure.

Publishing never raises once the command's own transaction has committed: what could not be
delivered is in the outbox, and a caller retrying a committed command would record it twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from application.shared.uow import Transactions, UnitOfWork, WaveTransaction
from domains.shared.events import Command, Event

Handler = Callable[[Any, Any], Awaitable[Any]]
"""`(command, unit of work)`: the unit of work is the handler's context's (`<context>/uow.py`)."""
Subscriber = Callable[[list[Any], Any], Awaitable[None]]
"""`(batch of events, unit of work)`."""

WAVE_TRANSACTION = "(the wave's transaction)"
"""The subscriber a failure names when the wave's shared transaction itself failed."""

MAX_WAVES = 16

log = structlog.get_logger("fluxrouter.bus")


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    subscriber: str
    event_ids: tuple[str, ...]
    error: BaseException


FailureHook = Callable[[Sequence[DeliveryFailure]], Awaitable[None]]


class UnsafeWhole(ValueError):
    """A `whole` command's events would reach a subscriber not marked `rows_only`."""


@dataclass
class Registry:
    """What the bus routes: the handler of each command, the subscribers of each event, which
    subscribers only write rows, and the commands that run `whole` with the events they carry."""

    handlers: dict[type[Command], Handler] = field(default_factory=dict)
    subscribers: dict[type[Event], list[Subscriber]] = field(default_factory=dict)
    rows_only: set[Subscriber] = field(default_factory=set)
    whole: dict[type[Command], tuple[type[Event], ...]] = field(default_factory=dict)

    def handle(self, command: type[Command], handler: Handler) -> None:
        if command in self.handlers:
            raise ValueError(f"{command.__name__} has a handler already")
        self.handlers[command] = handler

    def subscribe(
        self, events: Iterable[type[Event]], subscriber: Subscriber, *, rows_only: bool = False
    ) -> None:
        """`rows_only`: the subscriber's only effect is what it writes through its unit of work
        (it may then be reached from a `whole` command)."""
        for event in events:
            self.subscribers.setdefault(event, []).append(subscriber)
        if rows_only:
            self.rows_only.add(subscriber)

    def run_whole(self, command: type[Command], *, carrying: Iterable[type[Event]]) -> None:
        """Run `command` and its waves in one transaction; `carrying`: every event type it and
        the subscribers it reaches may publish (checked when the bus is built)."""
        self.whole[command] = tuple(carrying)

    def reached_by(self, event: type[Event]) -> list[Subscriber]:
        """The subscribers an event of this type (or of one of its subtypes) reaches."""
        return [
            subscriber
            for registered, subscribers in self.subscribers.items()
            if issubclass(event, registered) or issubclass(registered, event)
            for subscriber in subscribers
        ]

    def check_whole(self) -> None:
        """UnsafeWhole, if a `whole` command's events reach a subscriber not `rows_only`."""
        for command, carried in self.whole.items():
            for event in carried:
                for subscriber in self.reached_by(event):
                    if subscriber not in self.rows_only:
                        raise UnsafeWhole(
                            f"{command.__name__} runs whole, but its {event.__name__} reaches "
                            f"{_name_of(subscriber)}, which is not marked as only writing rows"
                        )


class MessageBus:
    def __init__(
        self,
        registry: Registry,
        transactions: Transactions,
        *,
        on_failed: FailureHook | None = None,
    ) -> None:
        """UnsafeWhole if a `whole` command's declared events reach a subscriber with effects
        outside its unit of work."""
        registry.check_whole()
        self._handlers = dict(registry.handlers)
        self._subscribers = {event: list(subs) for event, subs in registry.subscribers.items()}
        self._rows_only = frozenset(registry.rows_only)
        self._whole = frozenset(registry.whole)
        self._transactions = transactions
        self._on_failed = on_failed

    async def handle(self, command: Command) -> Any:
        handler = self._handlers.get(type(command))
        if handler is None:
            raise LookupError(f"no handler for {type(command).__name__}")
        if type(command) in self._whole:
            done, result = await self._handle_whole(command, handler)
            if done:
                return result
        uow = self._transactions.unit_of_work()
        result = await handler(command, uow)
        await self.publish(uow.collect_new_events())
        return result

    async def publish(self, events: Iterable[Event]) -> None:
        wave = list(events)
        for _ in range(MAX_WAVES):
            if not wave:
                return
            wave = await self._deliver(wave)
        log.error("bus.too_many_waves", pending=len(wave))

    async def _deliver(self, wave: list[Event]) -> list[Event]:
        """One wave in one transaction; the next wave (what its subscribers published)."""
        failures: list[DeliveryFailure] = []
        tx = self._transactions.wave()
        try:
            async with tx:
                for subscriber, batch in self._batches(wave):
                    failures.extend(await _deliver(subscriber, batch, tx.unit_of_work()))
                await tx.commit(_delivered(wave, failures))
        except Exception as error:  # nothing of it was kept: the relay's sweep replays it
            log.exception("bus.wave_failed", events=[event.event_id for event in wave[:20]])
            ids = tuple(event.event_id for event in wave)
            await self._report([DeliveryFailure(WAVE_TRANSACTION, ids, error)])
            return []
        await self._report(failures)
        return tx.collect_new_events()

    async def _handle_whole(self, command: Command, handler: Handler) -> tuple[bool, Any]:
        """(whether it was done, the handler's result): the command and its waves in one
        transaction. The handler's own errors are the caller's, as on the careful way."""
        tx = self._transactions.wave(whole=True)
        async with tx:
            result = await handler(command, tx.unit_of_work())
            try:
                await self._waves_within(tx)
            except Exception:  # leaving `async with` rolls it all back
                log.warning("bus.whole_failed", command=type(command).__name__, exc_info=True)
                return False, None
        return True, result

    async def _waves_within(self, tx: WaveTransaction) -> None:
        delivered: list[Event] = []
        wave = tx.take_kept()
        for _ in range(MAX_WAVES):
            if tx.spoiled:
                raise RuntimeError("a unit of work ended without committing")
            if not wave:
                await tx.commit(delivered)
                return
            for subscriber, batch in self._batches(wave):
                if subscriber not in self._rows_only:  # an event its registration did not declare
                    raise RuntimeError(f"{_name_of(subscriber)} does not only write rows")
                await subscriber(batch, tx.unit_of_work())
                if tx.spoiled:
                    raise RuntimeError(f"{_name_of(subscriber)} ended without committing")
            delivered.extend(wave)
            wave = tx.take_kept()
        raise RuntimeError(f"more than {MAX_WAVES} waves")

    async def _report(self, failures: Sequence[DeliveryFailure]) -> None:
        """Hands the failures on (after the wave's transaction ended: on SQLite a write while
        it is open would wait for it); a failure to keep them is only logged."""
        if not failures or self._on_failed is None:
            return
        try:
            await self._on_failed(failures)
        except Exception:
            log.exception("bus.failure_not_recorded", failures=len(failures))

    def _batches(self, wave: list[Event]) -> list[tuple[Subscriber, list[Event]]]:
        grouped: dict[Subscriber, list[Event]] = defaultdict(list)
        order: list[Subscriber] = []
        for event in wave:
            reached: set[Subscriber] = set()  # one delivery per subscriber, however it matched
            for cls in type(event).__mro__:
                for subscriber in self._subscribers.get(cls, ()):
                    if subscriber in reached:
                        continue
                    reached.add(subscriber)
                    if subscriber not in grouped:
                        order.append(subscriber)
                    grouped[subscriber].append(event)
        return [(subscriber, grouped[subscriber]) for subscriber in order]


async def _deliver(
    subscriber: Subscriber, batch: list[Event], uow: UnitOfWork
) -> list[DeliveryFailure]:
    """The subscriber's failure on the batch, if it failed (logged, never raised)."""
    try:
        await subscriber(batch, uow)
    except Exception as error:
        name = _name_of(subscriber)
        log.exception(
            "bus.subscriber_failed",
            subscriber=name,
            events=[event.event_id for event in batch[:20]],
        )
        return [DeliveryFailure(name, tuple(event.event_id for event in batch), error)]
    return []


def _delivered(wave: list[Event], failures: Sequence[DeliveryFailure]) -> list[Event]:
    """The wave's events every subscriber handled."""
    failed = {event_id for failure in failures for event_id in failure.event_ids}
    return [event for event in wave if event.event_id not in failed]


def _name_of(subscriber: Subscriber) -> str:
    """The subscriber as logs and dead letters name it: its function (or method) name, or its
    class for a callable object."""
    target = getattr(subscriber, "func", subscriber)  # functools.partial wraps the function
    name = (
        getattr(target, "__qualname__", None)
        or getattr(target, "__name__", None)
        or type(target).__name__
    )
    return str(name)
