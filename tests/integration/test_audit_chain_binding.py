"""Checkpoints bound to their chain, against real databases: two databases sharing one checkpoint
directory (the embedded shape, then the production one, in the same place) each keep their own
checkpoints and verify clean; a checkpoint of another chain is set aside, never read as a
rewrite, and the writer goes on signing; a chain rewritten from its first row is still caught by
the checkpoints stored beside it; the online check reports the table's real head."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from domains.audit.checkpoint import Checkpoint, signed_payload
from infrastructure.audit.checkpoint_files import LATEST, file_name
from infrastructure.audit.verification import verify_online
from infrastructure.db.repositories.audit_checkpoints import stored_checkpoints
from infrastructure.queries.audit_verify import audit_head, genesis_hash
from infrastructure.security.audit_signing import SigningKey
from interfaces.bootstrap import Container
from migrations.runner import downgrade, upgrade
from tests.integration.conftest import serving_container
from tests.integration.test_audit_checkpoints import add_orgs, superuser, writer


@pytest.fixture
async def lite(migrated_sqlite: str) -> AsyncIterator[Container]:
    async with serving_container(migrated_sqlite) as container:
        yield container


@pytest.mark.postgres
async def test_two_databases_sharing_a_checkpoint_directory_keep_their_checkpoints_apart(
    lite: Container, pg: Container, key: SigningKey, tmp_path: Path
) -> None:
    shared = tmp_path / "audit-checkpoints"
    embedded = writer(lite, key, shared)
    await add_orgs(lite, 8, "embedded")
    first = (await embedded.checkpoint()).made
    assert first is not None
    assert first.seq == 8

    production = writer(pg, key, shared)  # a brand-new database, the same directory
    await add_orgs(pg, 3, "production")
    outcome = await production.checkpoint()
    assert outcome.broken is None, outcome.broken
    assert outcome.made is not None
    assert outcome.made.seq == 3
    assert outcome.made.chain == await genesis_hash(pg.engine) != first.chain
    assert sorted(p.name for p in shared.iterdir()) == sorted([first.chain, outcome.made.chain])

    check = await verify_online(pg.engine, key, production.directory, full=False)
    assert (check.ok, check.head_seq, check.checkpoint_seq) == (True, 3, 3), check
    assert check.chain == outcome.made.chain
    assert check.notes == (
        f"the checkpoint directory also holds the checkpoints of 1 other chain(s), not read: "
        f"{first.chain}",
    )
    await add_orgs(pg, 2, "later")
    assert ((await production.checkpoint()).made or first).seq == 5  # and it goes on signing
    again = await verify_online(lite.engine, key, embedded.directory, full=True)
    assert (again.ok, again.head_seq, again.checkpoint_seq) == (True, 8, 8)


async def test_a_checkpoint_of_another_chain_in_the_directory_is_set_aside_not_read_as_a_rewrite(
    lite: Container, key: SigningKey, tmp_path: Path
) -> None:
    shared = tmp_path / "audit-checkpoints"
    checkpoints = writer(lite, key, shared)
    await add_orgs(lite, 3)
    chain = await genesis_hash(lite.engine)
    assert chain is not None
    foreign_chain = "f" * 64
    ts = "2026-01-01T00:00:00.000000Z"

    def foreign(seq: int, named: str | None) -> Checkpoint:
        payload = signed_payload(seq=seq, hash="e" * 64, ts=ts, key_id=key.key_id, chain=named)
        return Checkpoint(seq, "e" * 64, ts, key.key_id, key.sign(payload), chain=named)

    # another database's newest checkpoint copied into this chain's place, and checkpoints
    # written before checkpoints named their chain, of another chain, in the directory itself
    mine = shared / chain
    mine.mkdir(parents=True)
    (mine / LATEST).write_text(json.dumps(foreign(50, foreign_chain).as_dict()))
    (mine / file_name(50)).write_text(json.dumps(foreign(50, foreign_chain).as_dict()))
    (shared / file_name(2)).write_text(json.dumps(foreign(2, None).as_dict()))

    outcome = await checkpoints.checkpoint()
    assert outcome.broken is None, outcome.broken
    assert outcome.made is not None  # the writer does not stop
    assert outcome.made.seq == 3
    assert outcome.set_aside == foreign(50, foreign_chain)
    assert json.loads((mine / LATEST).read_text())["seq"] == 3

    check = await verify_online(lite.engine, key, checkpoints.directory, full=True)
    assert (check.ok, check.head_seq, check.checkpoint_seq) == (True, 3, 3), check
    assert "rewritten" not in "".join(check.notes)
    assert check.notes == (
        f"1 checkpoint of another chain ({foreign_chain}) at seq 50, not of this chain ({chain}): "
        "not used",
        f"1 checkpoint naming no chain (written before checkpoints named their chain) at seq 2 "
        f"not matching this chain ({chain})'s rows: not used (another chain's, or this chain's "
        "before a rewrite)",
    )


@pytest.mark.postgres
async def test_a_chain_rewritten_from_its_first_row_is_caught_by_the_checkpoints_stored_beside_it(
    pg: Container, fresh_pg: str, key: SigningKey, tmp_path: Path
) -> None:
    checkpoints = writer(pg, key, tmp_path / "c")
    await add_orgs(pg, 4)
    signed = (await checkpoints.checkpoint()).made
    assert signed is not None
    with superuser(fresh_pg) as conn:  # every row replaced: a new genesis row, a new chain name
        conn.execute("DELETE FROM audit_log")
    await add_orgs(pg, 5, "forged")
    assert await genesis_hash(pg.engine) != signed.chain
    outcome = await checkpoints.checkpoint()
    assert outcome.made is None
    assert outcome.broken is not None
    assert outcome.broken.seq == 1
    assert "(the chain was rewritten from its first row)" in outcome.broken.reason
    check = await verify_online(pg.engine, key, checkpoints.directory, full=False)
    assert (check.ok, check.first_bad_seq) == (False, 1)
    assert f"the checkpoint stored at seq 4 is of chain {signed.chain}" in (check.reason or "")


@pytest.mark.postgres
async def test_the_online_check_reports_the_real_head_where_the_chain_breaks(
    pg: Container, fresh_pg: str, key: SigningKey, tmp_path: Path
) -> None:
    checkpoints = writer(pg, key, tmp_path / "c")
    await add_orgs(pg, 6)
    assert (await checkpoints.checkpoint()).made is not None
    await add_orgs(pg, 4, "after")
    head = await audit_head(pg.engine)
    assert head is not None
    assert head[0] == 10
    with superuser(fresh_pg) as conn:
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 8")
    for full in (False, True):
        check = await verify_online(pg.engine, key, checkpoints.directory, full=full)
        assert (check.ok, check.first_bad_seq) == (False, 8)
        assert (check.head_seq, check.head_hash) == head  # not the last good row (7)
    with superuser(fresh_pg) as conn:  # a checkpointed row rewritten: the walk stops at once
        conn.execute("UPDATE audit_log SET hash = repeat('d', 64) WHERE seq = 6")
    check = await verify_online(pg.engine, key, checkpoints.directory, full=True)
    assert (check.ok, check.head_seq, check.head_hash) == (False, 10, head[1])


async def test_checkpoints_stored_before_chains_were_named_still_anchor_their_chain(
    migrated_sqlite: str, key: SigningKey, tmp_path: Path
) -> None:
    """The migration keeps the table append-only and its old rows, which name no chain; one
    in the database is taken as this chain's."""
    async with serving_container(migrated_sqlite) as lite:
        await add_orgs(lite, 3)
        row3 = await lite_row(lite, 3)
    downgrade(migrated_sqlite, "0010")
    ts = "2026-01-01T00:00:00.000000Z"
    payload = signed_payload(seq=3, hash=row3, ts=ts, key_id=key.key_id, chain=None)
    old = Checkpoint(3, row3, ts, key.key_id, key.sign(payload))
    sync = sa.create_engine(migrated_sqlite.replace("+aiosqlite", ""))
    with sync.begin() as conn:
        conn.execute(sa.text(_INSERT), old.as_dict())
    sync.dispose()
    upgrade(migrated_sqlite)
    async with serving_container(migrated_sqlite) as lite:
        assert await stored_checkpoints(lite.engine) == [old]
        checkpoints = writer(lite, key, tmp_path / "c")
        check = await verify_online(lite.engine, key, checkpoints.directory, full=True)
        assert (check.ok, check.checkpoint_seq) == (True, 3)
        await add_orgs(lite, 1, "new")
        made = (await checkpoints.checkpoint()).made
        assert made is not None
        assert (made.seq, made.chain) == (4, await genesis_hash(lite.engine))
        async with lite.engine.connect() as conn:
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                await conn.execute(sa.text("DELETE FROM audit_checkpoints"))


_INSERT = (
    "INSERT INTO audit_checkpoints (seq, hash, ts, key_id, signature) "
    "VALUES (:seq, :hash, :ts, :key_id, :signature)"
)


async def lite_row(container: Container, seq: int) -> str:
    async with container.engine.connect() as conn:
        found = await conn.scalar(sa.text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": seq})
    return str(found)
