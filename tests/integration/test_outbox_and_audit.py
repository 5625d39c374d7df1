"""The outbox, the audit chain and the bus against real databases."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from application.billing.subscribers import when_completion_finished_record_usage
from application.teams.commands import CreateOrg
from domains.billing.limits import LimitsSnapshot
from domains.providers.events import CompletionFinished
from domains.shared.clock import utcnow
from domains.shared.events import Event
from domains.teams.events import OrgCreated
from domains.teams.model import Org
from infrastructure.db.tables import audit_log, outbox, usage_records
from infrastructure.db.uow import SqlUnitOfWork
from infrastructure.queries.audit_verify import verify_audit_log
from interfaces.bootstrap import Container
from tests.integration.conftest import container_for

pytestmark = pytest.mark.postgres


async def _count(container: Container, table: sa.Table) -> int:
    async with container.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar())


async def test_a_crash_between_commit_and_dispatch_is_recovered_once(
    pg_container: Container,
) -> None:
    # The change and its event are committed together; the process "dies" before publishing.
    uow = SqlUnitOfWork(pg_container.engine, pg_container.codec)
    async with uow:
        org = Org.create("crashed-before-dispatch", actor="test")
        await uow.orgs.add(org)
        await uow.commit()
    audit_before = await _count(pg_container, audit_log)
    relay = pg_container.relay
    assert await relay.sweep(pg_container.bus.publish, older_than=0) >= 1
    assert await _count(pg_container, audit_log) == audit_before + 1
    # Dispatched now: a second sweep publishes nothing and appends nothing.
    assert await relay.sweep(pg_container.bus.publish, older_than=0) == 0
    # And a replay of the same event (at-least-once delivery) changes nothing.
    async with pg_container.engine.connect() as conn:
        payload = (
            await conn.execute(
                sa.select(outbox.c.payload)
                .where(outbox.c.type == "OrgCreated")
                .order_by(outbox.c.id.desc())
                .limit(1)
            )
        ).scalar_one()
    await pg_container.bus.publish([pg_container.codec.decode(payload)])
    assert await _count(pg_container, audit_log) == audit_before + 1
    assert (await verify_audit_log(pg_container.engine, (), None, full=True)).ok


async def test_concurrent_writers_on_several_replicas_keep_one_gap_free_chain(
    migrated_pg: str,
) -> None:
    replicas = [container_for(migrated_pg, FLUXROUTER_WORKERS_EMBEDDED="false") for _ in range(3)]
    try:
        before = await _count(replicas[0], audit_log)
        await asyncio.gather(
            *(
                replica.bus.handle(CreateOrg(name=f"org-{index}-{n}", actor="test"))
                for index, replica in enumerate(replicas)
                for n in range(15)
            )
        )
        assert await _count(replicas[0], audit_log) == before + 45
        async with replicas[0].engine.connect() as conn:
            seqs = await conn.execute(sa.select(audit_log.c.seq).order_by(audit_log.c.seq))
            values = [row[0] for row in seqs]
        assert values == list(range(1, len(values) + 1))
        check = await verify_audit_log(replicas[0].engine, (), None, full=True)
        assert check.ok
        assert check.checked == len(values)
    finally:
        for replica in replicas:
            await replica.engine.dispose()
            replica.sync_engine.dispose()


async def test_postgres_refuses_update_delete_and_truncate_of_the_audit_log(
    pg_container: Container,
) -> None:
    await pg_container.bus.handle(CreateOrg(name="append-only", actor="test"))
    for statement in (
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        async with pg_container.engine.connect() as conn:
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(sa.text(statement))
    assert (await verify_audit_log(pg_container.engine, (), None, full=True)).ok


async def test_sqlite_refuses_update_and_delete_of_the_audit_log(migrated_sqlite: str) -> None:
    container = container_for(migrated_sqlite)
    try:
        await container.bus.handle(CreateOrg(name="append-only", actor="test"))
        for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
            async with container.engine.connect() as conn:
                with pytest.raises(DBAPIError, match="append-only"):
                    await conn.execute(sa.text(statement))
        assert (await verify_audit_log(container.engine, (), None, full=True)).checked == 1
        assert await _count(container, usage_records) == 0
    finally:
        await container.engine.dispose()
        container.sync_engine.dispose()


async def test_two_deliveries_of_one_completion_at_once_bill_it_once(
    pg_container: Container,
) -> None:

    event = CompletionFinished(
        request_id="r-dup",
        endpoint="chat",
        key_id="k-dup",
        team_id="t",
        org_id="o",
        user_id=None,
        provider="openai",
        model="m",
        upstream_model="m",
        stream=False,
        status=200,
        outcome="ok",
        input_tokens=3,
        output_tokens=4,
    )
    before = await _count(pg_container, usage_records)
    uows = [SqlUnitOfWork(pg_container.engine, pg_container.codec) for _ in range(4)]
    await asyncio.gather(
        *(
            when_completion_finished_record_usage([event], uow, prices=LimitsSnapshot())
            for uow in uows
        )
    )
    assert await _count(pg_container, usage_records) == before + 1
    published = [e for uow in uows for e in uow.collect_new_events()]
    assert len(published) == 1


async def test_the_sweep_leaves_recently_stored_events_alone(pg_container: Container) -> None:
    # An event that happened long ago but was only just written (it waited in the recorder)
    # is in its first delivery: the sweep must not publish it a second time.

    old = OrgCreated(
        org_id="o-old", name="late", actor="test", occurred_at=utcnow() - timedelta(minutes=5)
    )
    uow = SqlUnitOfWork(pg_container.engine, pg_container.codec)
    async with uow:
        uow.publish(old)
        await uow.commit()
    published: list[Event] = []

    async def publish(events: Iterable[Event]) -> None:
        published.extend(events)

    await pg_container.relay.sweep(publish)
    assert all(e.event_id != old.event_id for e in published)
    await pg_container.relay.sweep(publish, older_than=0)
    assert any(e.event_id == old.event_id for e in published)
