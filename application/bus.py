"""The in-process message bus: a command goes to exactly one handler, an event to many.

Subscribers receive events in batches (a list of one event type), each batch in a unit of work
of its own; the events they cause go out in the next wave. A wave whose subscribers all succeeded
is reported to `on_dispatched` (the outbox marks it done and the projections get it). A failing
subscriber is logged and leaves the events of its batch in the outbox, where the relay retries
them later (the wave's other events are marked done): subscribers are idempotent, so a replay
changes nothing. Each failure (which subscriber, which events, the error) goes to `on_failed`
once the wave's transaction has ended, for the relay to keep.

Given a `wave_factory`, a wave's units of work share one transaction (`WaveTransaction`), which
also marks the wave dispatched: one commit a wave instead of one a subscriber plus one for the
mark. A failing subscriber still undoes only its own work. If that commit fails, nothing of the
wave is kept and it stays in the outbox for the relay, like a failed subscriber's wave.

Commands named in `whole` (whose events reach only subscribers that write through their unit of
work and nothing else: no broadcast, no call out) run with every wave they cause in one
transaction, all or nothing: one commit, the outbox rows written dispatched (those a projection
reads are handed on once committed, in a short transaction after), no savepoint. A batch of
finished calls then costs two transactions instead of three. If a subscriber fails or
leaves its unit without committing, or that commit fails, nothing is kept and the command runs
again the careful way above, which isolates the failure. A subscriber with an effect outside the
database must not be reached from such a command: that effect could happen for a transaction
that is then rolled back, or be seen by others before the commit.

Publishing never raises once the command's own transaction has committed: what could not be
delivered is in the outbox, and a caller retrying a committed command would record it twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from application.uow import UnitOfWork, WaveTransaction
from domains.shared.events import Command, Event

Handler = Callable[[Any, UnitOfWork], Awaitable[Any]]
Subscriber = Callable[[list[Any], UnitOfWork], Awaitable[None]]
UowFactory = Callable[[], UnitOfWork]
DispatchedHook = Callable[[Sequence[Event]], Awaitable[None]]

WAVE_TRANSACTION = "(the wave's transaction)"
"""The subscriber a failure names when the wave's shared transaction itself failed."""


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    subscriber: str
    event_ids: tuple[str, ...]
    error: BaseException


FailureHook = Callable[[Sequence[DeliveryFailure]], Awaitable[None]]


class WaveFactory(Protocol):
    def __call__(self, *, whole: bool = False) -> WaveTransaction: ...


log = structlog.get_logger("fluxrouter.bus")

MAX_WAVES = 16


class MessageBus:
    def __init__(
        self,
        uow_factory: UowFactory,
        handlers: dict[type[Command], Handler],
        subscribers: dict[type[Event], list[Subscriber]],
        on_dispatched: DispatchedHook | None = None,
        wave_factory: WaveFactory | None = None,
        whole: frozenset[type[Command]] = frozenset(),
        on_failed: FailureHook | None = None,
    ) -> None:
        """With a `wave_factory`, waves are marked dispatched by their transaction's commit and
        `on_dispatched` is not called; the commands in `whole` then run all or nothing."""
        self._uow_factory = uow_factory
        self._handlers = handlers
        self._subscribers = subscribers
        self._on_dispatched = on_dispatched
        self._wave_factory = wave_factory
        self._whole = whole
        self._on_failed = on_failed

    async def handle(self, command: Command) -> Any:
        handler = self._handlers.get(type(command))
        if handler is None:
            raise LookupError(f"no handler for {type(command).__name__}")
        if self._wave_factory is not None and type(command) in self._whole:
            done, result = await self._handle_whole(command, handler, self._wave_factory)
            if done:
                return result
        uow = self._uow_factory()
        result = await handler(command, uow)
        await self.publish(uow.collect_new_events())
        return result

    async def publish(self, events: Iterable[Event]) -> None:
        wave = list(events)
        for _ in range(MAX_WAVES):
            if not wave:
                return
            wave = await self._dispatch_wave(wave)
        log.error("bus.too_many_waves", pending=len(wave))

    async def _handle_whole(
        self, command: Command, handler: Handler, factory: WaveFactory
    ) -> tuple[bool, Any]:
        """(whether it was done, the handler's result): the command and its waves in one
        transaction. The handler's own errors are the caller's, as on the careful way."""
        tx = factory(whole=True)
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
                await subscriber(batch, tx.unit_of_work())
                if tx.spoiled:
                    raise RuntimeError(f"{_name_of(subscriber)} ended without committing")
            delivered.extend(wave)
            wave = tx.take_kept()
        raise RuntimeError(f"more than {MAX_WAVES} waves")

    async def _dispatch_wave(self, wave: list[Event]) -> list[Event]:
        if self._wave_factory is not None:
            return await self._dispatch_shared(wave, self._wave_factory())
        next_wave: list[Event] = []
        failures: list[DeliveryFailure] = []
        for subscriber, batch in self._batches(wave):
            uow = self._uow_factory()
            failures.extend(await _deliver(subscriber, batch, uow))
            next_wave.extend(uow.collect_new_events())
        delivered = _delivered(wave, failures)
        if delivered and self._on_dispatched is not None:
            try:
                await self._on_dispatched(delivered)
            except Exception:  # left undispatched in the outbox: the relay's sweep replays it
                log.exception("bus.dispatch_mark_failed", events=len(delivered))
        await self._report(failures)
        return next_wave

    async def _dispatch_shared(self, wave: list[Event], tx: WaveTransaction) -> list[Event]:
        failures: list[DeliveryFailure] = []
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
