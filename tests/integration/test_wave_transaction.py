"""A wave's subscribers share one transaction with its dispatched mark, on PostgreSQL and SQLite:
one commit a wave, each subscriber still undoing only its own work when it fails."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event as sa_event

from application.bus import MessageBus, Registry, Subscriber
from application.providers.commands import RecordCompletions
from application.providers.handlers import record_completions
from application.shared.uow import UnitOfWork
from domains.providers.events import CompletionFinished
from domains.shared.events import Event
from domains.teams.events import KeyRevoked
from domains.teams.model import Org
from infrastructure.db.tables import audit_log, orgs, outbox, usage_records
from infrastructure.db.uow import SqlUnitOfWork
from infrastructure.db.wave import SqlTransactions
from infrastructure.messaging.outbox_relay import OutboxRelay
from infrastructure.queries.audit_verify import verify_audit_log
from interfaces.bootstrap import Container
from tests.integration.conftest import migrated_database, serving_container
from tests.unit.samples import completion

pytestmark = pytest.mark.postgres


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path, "fluxrouter_wave") as url:
        yield url


@pytest.fixture
async def container(database_url: str) -> AsyncIterator[Container]:
    async with serving_container(database_url) as made:
        yield made


def transactions(container: Container, relay: OutboxRelay | None = None) -> SqlTransactions:
    """Transactions on the container's database, their projected events handed on by `relay`
    (by default the container's)."""
    hands = relay or container.relay
    return SqlTransactions(container.engine, container.codec, hands.project, hands.projected)


def bus_of(container: Container, subscribers: list[Subscriber]) -> MessageBus:
    return MessageBus(Registry(subscribers={KeyRevoked: subscribers}), transactions(container))


async def stored(container: Container, event: Event) -> Event:
    """The event written to the outbox, undispatched, as a command's commit leaves it."""
    uow = SqlUnitOfWork(container.engine, container.codec)
    async with uow:
        uow.publish(event)
        await uow.commit()
    return event


def revoked(key_id: str) -> KeyRevoked:
    return KeyRevoked(key_id=key_id, team_id="t", org_id="o", actor="test")


def adds_org(name: str, *, then_fail: bool = False) -> Subscriber:
    """A subscriber that writes an org (whose OrgCreated no subscriber here listens to)."""

    async def subscriber(events: list[Event], uow: UnitOfWork) -> None:
        async with uow:
            await uow.orgs.add(Org.create(name, actor="test"))
            if then_fail:
                raise RuntimeError(f"{name} failed after writing")
            await uow.commit()

    subscriber.__name__ = name
    return subscriber


async def org_names(container: Container) -> set[str]:
    async with container.engine.connect() as conn:
        return set((await conn.execute(sa.select(orgs.c.name))).scalars())


async def dispatched(container: Container, event: Event) -> bool:
    async with container.engine.connect() as conn:
        at = await conn.execute(
            sa.select(outbox.c.dispatched_at).where(outbox.c.event_id == event.event_id)
        )
        return at.scalar_one() is not None


class Commits:
    """Counts the transactions committed on an engine."""

    def __init__(self, container: Container) -> None:
        self.count = 0
        sa_event.listen(container.engine.sync_engine, "commit", self._on_commit)

    def _on_commit(self, _conn: Any) -> None:
        self.count += 1


async def test_a_clean_wave_commits_its_subscribers_and_its_mark_together(
    container: Container,
) -> None:
    event = await stored(container, revoked("k-1"))
    commits = Commits(container)

    await bus_of(container, [adds_org("a"), adds_org("b")]).publish([event])

    assert {"a", "b"} <= await org_names(container)
    assert await dispatched(container, event)
    # the wave's, and the next wave's (the two OrgCreated, no subscriber: only their mark)
    assert commits.count == 2


async def test_a_failing_later_subscriber_undoes_only_its_own_work(container: Container) -> None:
    event = await stored(container, revoked("k-2"))

    await bus_of(container, [adds_org("kept"), adds_org("undone", then_fail=True)]).publish([event])

    names = await org_names(container)
    assert "kept" in names
    assert "undone" not in names
    assert not await dispatched(container, event)  # left for the relay's sweep


async def test_a_failing_first_subscriber_undoes_only_its_own_work(container: Container) -> None:
    event = await stored(container, revoked("k-3"))

    await bus_of(
        container, [adds_org("undone-first", then_fail=True), adds_org("kept-after")]
    ).publish([event])

    names = await org_names(container)
    assert "kept-after" in names
    assert "undone-first" not in names
    assert not await dispatched(container, event)
    # a replay whose subscribers all succeed marks it
    await bus_of(container, [adds_org("replayed")]).publish([event])
    assert await dispatched(container, event)


async def test_a_batch_of_completions_costs_one_transaction_and_stays_exact(
    container: Container,
) -> None:
    batch = tuple(completion(request_id=f"r{n}", event_id=f"e{n}") for n in range(12))
    commits = Commits(container)

    await container.bus.handle(RecordCompletions(completions=batch))

    # the outbox rows, billing's usage rows and UsageRecorded, audit's chained rows: all at once
    assert commits.count == 1
    async with container.engine.connect() as conn:
        usage = (await conn.execute(sa.select(sa.func.count()).select_from(usage_records))).scalar()
        audited = (await conn.execute(sa.select(sa.func.count()).select_from(audit_log))).scalar()
        pending = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(outbox)
                .where(outbox.c.dispatched_at.is_(None))
            )
        ).scalar()
    assert usage == 12
    assert audited == 12
    assert pending == 0
    assert (await verify_audit_log(container.engine, (), None, full=True)).ok

    # a replay of the whole batch (at-least-once delivery) bills and audits nothing new
    await container.bus.publish(batch)
    async with container.engine.connect() as conn:
        assert (
            await conn.execute(sa.select(sa.func.count()).select_from(usage_records))
        ).scalar() == 12
        assert (
            await conn.execute(sa.select(sa.func.count()).select_from(audit_log))
        ).scalar() == 12
    assert (await verify_audit_log(container.engine, (), None, full=True)).ok


def whole_bus(
    container: Container, subscribers: list[Subscriber], relay: OutboxRelay | None = None
) -> MessageBus:
    """A bus that runs RecordCompletions all or nothing, its events going to `subscribers`."""
    registry = Registry()
    registry.handle(RecordCompletions, record_completions)
    for subscriber in subscribers:
        registry.subscribe((CompletionFinished,), subscriber, rows_only=True)
    registry.run_whole(RecordCompletions, carrying=(CompletionFinished,))
    return MessageBus(registry, transactions(container, relay))


async def test_all_or_nothing_keeps_it_all_in_one_commit(container: Container) -> None:
    event = completion(event_id="w-clean")
    commits = Commits(container)

    await whole_bus(container, [adds_org("w-a"), adds_org("w-b")]).handle(
        RecordCompletions(completions=(event,))
    )

    assert commits.count == 1
    assert {"w-a", "w-b"} <= await org_names(container)
    assert await dispatched(container, event)
    async with container.engine.connect() as conn:  # the OrgCreated rows too, written dispatched
        pending = await conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.dispatched_at.is_(None))
        )
        assert pending.scalar() == 0


async def test_all_or_nothing_falls_back_to_isolating_a_failing_subscriber(
    container: Container,
) -> None:
    event = completion(event_id="w-fails")

    await whole_bus(container, [adds_org("w-kept"), adds_org("w-undone", then_fail=True)]).handle(
        RecordCompletions(completions=(event,))
    )

    names = await org_names(container)
    assert "w-kept" in names  # the careful way kept the healthy subscriber's work
    assert "w-undone" not in names
    assert not await dispatched(container, event)  # stored, left for the relay's sweep


async def test_all_or_nothing_falls_back_when_a_unit_ends_without_committing(
    container: Container,
) -> None:
    event = completion(event_id="w-no-commit")

    async def does_nothing(events: list[Event], uow: UnitOfWork) -> None:
        async with uow:
            await uow.orgs.add(Org.create("w-not-committed", actor="test"))

    await whole_bus(container, [adds_org("w-first"), does_nothing]).handle(
        RecordCompletions(completions=(event,))
    )

    names = await org_names(container)
    assert "w-first" in names  # not undone with the uncommitted unit
    assert "w-not-committed" not in names
    assert await dispatched(container, event)  # no subscriber failed: the wave is done


async def test_all_or_nothing_gives_the_handlers_error_to_the_caller(
    container: Container,
) -> None:
    class Refused(Exception):
        pass

    async def refuses(command: RecordCompletions, uow: UnitOfWork) -> None:
        async with uow:
            uow.publish(*command.completions)
            await uow.commit()
            raise Refused

    bus = whole_bus(container, [adds_org("w-never")])
    bus._handlers[RecordCompletions] = refuses
    event = completion(event_id="w-refused")

    with pytest.raises(Refused):
        await bus.handle(RecordCompletions(completions=(event,)))

    assert "w-never" not in await org_names(container)
    async with container.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.event_id == "w-refused")
        )
        assert rows.scalar() == 0


class Workers:
    """The projections' queue: notes what is enqueued and whether its rows were committed then
    (seen from another connection); `fail` makes it refuse."""

    def __init__(self, container: Container, *, fail: bool = False) -> None:
        self.container = container
        self.fail = fail
        self.enqueued: list[str] = []
        self.committed_when_enqueued: list[bool] = []

    async def __call__(self, payloads: list[str]) -> None:
        if self.fail:
            raise ConnectionError("the queue is down")
        self.enqueued.extend(payloads)
        ids = [container_event_id(payload) for payload in payloads]
        async with self.container.engine.connect() as conn:
            seen = await conn.execute(
                sa.select(outbox.c.event_id).where(outbox.c.event_id.in_(ids))
            )
            self.committed_when_enqueued.append(set(seen.scalars()) == set(ids))


def container_event_id(payload: str) -> str:
    return str(json.loads(payload)["event_id"])


def projecting_bus(container: Container, workers: Workers) -> MessageBus:
    """RecordCompletions all or nothing, with a projection that reads CompletionFinished."""
    relay = OutboxRelay(
        container.engine,
        container.codec,
        enqueue=workers,
        projected_types=frozenset({"CompletionFinished"}),
        dead_letters=container.relay.dead_letters,
    )
    return whole_bus(container, [adds_org("p-billing")], relay)


async def test_all_or_nothing_hands_projected_events_on_only_once_committed(
    container: Container,
) -> None:
    workers = Workers(container)
    event = completion(event_id="p-ok")
    commits = Commits(container)

    await projecting_bus(container, workers).handle(RecordCompletions(completions=(event,)))

    assert [container_event_id(payload) for payload in workers.enqueued] == ["p-ok"]
    assert workers.committed_when_enqueued == [True]  # never an event a rollback could undo
    assert await dispatched(container, event)
    assert commits.count == 2  # the batch, then the mark of what was handed on


async def test_a_projected_event_the_queue_refused_is_left_for_the_sweep(
    container: Container,
) -> None:
    workers = Workers(container, fail=True)
    event = completion(event_id="p-refused")

    await projecting_bus(container, workers).handle(RecordCompletions(completions=(event,)))

    assert "p-billing" in await org_names(container)  # the batch itself is kept
    assert not await dispatched(container, event)  # the relay's sweep hands it on later
