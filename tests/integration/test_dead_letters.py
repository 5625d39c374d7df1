"""The outbox relay's bounded retries and its dead letters, on PostgreSQL and SQLite: a subscriber
that always fails ends in the dead letters after its retries while the others' events go on,
no restart brings it back, and a replay delivers it again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from application.audit.subscribers import when_event_append_audit
from application.bus import MessageBus, Registry
from application.shared.uow import UnitOfWork
from application.teams import handlers as teams_handlers
from application.teams.commands import CreateOrg
from domains.shared.errors import Conflict, NotFound
from domains.shared.events import Event
from domains.teams.events import OrgCreated
from infrastructure.db.tables import audit_log, outbox
from infrastructure.db.wave import SqlTransactions
from infrastructure.queries.audit_verify import verify_audit_log
from interfaces.bootstrap import Container
from tests.integration.conftest import container_for, migrated_database

pytestmark = pytest.mark.postgres

RETRIES = {
    "FLUXROUTER_WORKERS_EMBEDDED": "false",
    "FLUXROUTER_OUTBOX_MAX_RETRIES": "2",
    "FLUXROUTER_OUTBOX_RETRY_BASE_SECONDS": "0.1",
    "FLUXROUTER_OUTBOX_RETRY_MAX_SECONDS": "0.2",
}
LEAKED = "sk-live-" + "Q" * 24


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path, "fluxrouter_dead_letters") as url:
        yield url


@pytest.fixture
async def container(database_url: str) -> AsyncIterator[Container]:
    made = container_for(database_url, **RETRIES)
    yield made
    await made.engine.dispose()
    made.sync_engine.dispose()


class Picky:
    """Fails on every org named `poison…` until healed, with a key in its message."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.healed = False

    async def __call__(self, events: list[OrgCreated], uow: UnitOfWork) -> None:
        for event in events:
            self.calls[event.name] = self.calls.get(event.name, 0) + 1
        if not self.healed and any(event.name.startswith("poison") for event in events):
            raise RuntimeError(f"upstream refused key {LEAKED}")


def bus_with(container: Container, picky: Picky) -> MessageBus:
    relay = container.relay
    registry = Registry()
    registry.handle(CreateOrg, teams_handlers.create_org)
    registry.subscribe((OrgCreated,), picky)
    registry.subscribe((Event,), when_event_append_audit)
    return MessageBus(
        registry,
        SqlTransactions(container.engine, container.codec, relay.project, relay.projected),
        on_failed=relay.record_failures,
    )


async def sweep_until_quiet(container: Container, bus: MessageBus, rounds: int = 8) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0.25)
        await container.relay.sweep(bus.publish, older_than=0)


async def undispatched(container: Container) -> list[str]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(sa.select(outbox.c.type).where(outbox.c.dispatched_at.is_(None)))
        return list(rows.scalars())


async def actions(container: Container) -> list[str]:
    async with container.engine.connect() as conn:
        rows = await conn.execute(sa.select(audit_log.c.action).order_by(audit_log.c.seq))
        return list(rows.scalars())


async def test_a_failing_subscriber_ends_in_the_dead_letters_and_the_rest_goes_on(
    container: Container, database_url: str
) -> None:
    picky = Picky()
    bus = bus_with(container, picky)
    await bus.handle(CreateOrg(name="poison-1", actor="test"))
    await bus.handle(CreateOrg(name="fine-1", actor="test"))
    await sweep_until_quiet(container, bus)
    await bus.handle(CreateOrg(name="fine-2", actor="test"))  # the outbox still flows

    assert picky.calls == {"poison-1": 3, "fine-1": 1, "fine-2": 1}  # 1 delivery + 2 retries
    letters = await container.relay.dead_letters.page()
    assert len(letters) == 1
    letter = letters[0]
    assert letter.event_type == "OrgCreated"
    assert letter.subscriber == "Picky"
    assert letter.error_class == "RuntimeError"
    assert letter.error_message is not None
    assert "upstream refused key" in letter.error_message
    assert LEAKED not in letter.error_message
    assert letter.attempts == 3
    assert letter.first_failed_at is not None
    assert letter.replayed_at is None
    assert await undispatched(container) == []  # out of the relay's hands
    assert (await actions(container)).count("outbox.dead_lettered") == 1
    assert await container.relay.dead_letters.pending() == 1

    # Neither more sweeps nor a restart (a new process on the same database) try it again.
    await sweep_until_quiet(container, bus, rounds=3)
    restarted = container_for(database_url, **RETRIES)
    try:
        assert await restarted.relay.sweep(bus_with(restarted, picky).publish, older_than=0) == 0
    finally:
        await restarted.engine.dispose()
        restarted.sync_engine.dispose()
    assert picky.calls["poison-1"] == 3

    # Replayed once the subscriber is healed: delivered again, audited, and only once.
    picky.healed = True
    replay = await container.relay.replay(letter.id, actor="admin", publish=bus.publish)
    assert replay.event.event_id == letter.event_id
    assert picky.calls["poison-1"] == 4
    assert await container.relay.dead_letters.delivered(letter.event_id)
    assert await undispatched(container) == []
    (after,) = await container.relay.dead_letters.page()
    assert after.replayed_at is not None
    assert after.replayed_by == "admin"
    assert await container.relay.dead_letters.pending() == 0
    assert await container.relay.dead_letters.page(pending=True) == []
    assert (await actions(container)).count("outbox.replayed") == 1
    with pytest.raises(Conflict):
        await container.relay.replay(letter.id, actor="admin", publish=bus.publish)
    with pytest.raises(NotFound):
        await container.relay.replay("0" * 32, actor="admin", publish=bus.publish)
    assert (await verify_audit_log(container.engine, (), None, full=True)).ok


async def test_a_replay_that_fails_again_is_retried_and_dead_lettered_again(
    container: Container,
) -> None:
    picky = Picky()
    bus = bus_with(container, picky)
    await bus.handle(CreateOrg(name="poison-2", actor="test"))
    await sweep_until_quiet(container, bus)
    (letter,) = await container.relay.dead_letters.page()

    # delivered again and failing: its retries renewed, and spent again
    await container.relay.replay(letter.id, actor="cli", publish=bus.publish)
    await sweep_until_quiet(container, bus)

    assert picky.calls["poison-2"] == 6  # 3, then 3 again after the replay
    first, second = await container.relay.dead_letters.page()
    assert first.id == letter.id
    assert first.replayed_by == "cli"
    assert second.event_id == letter.event_id
    assert second.replayed_at is None
    assert [x.id for x in await container.relay.dead_letters.page(after=first.id)] == [second.id]
