"""Signed checkpoints against real databases: the writer (database row and file, once per head,
safe across replicas, never over a broken chain), the append-only table, and the online check
(incremental from the newest checkpoint, or full)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from application.teams.commands import CreateOrg
from infrastructure.audit.checkpoint_files import LATEST, CheckpointDirectory, file_name
from infrastructure.audit.checkpointer import Checkpointer
from infrastructure.audit.verification import verify_online
from infrastructure.db.repositories.audit_checkpoints import stored_checkpoints
from infrastructure.queries.audit_verify import genesis_hash
from infrastructure.security.audit_signing import SigningKey
from interfaces.bootstrap import Container
from tests.integration.conftest import container_for, migrated_database, serving_container


def writer(
    container: Container, key: SigningKey, directory: Path, **cadence: float
) -> Checkpointer:
    return Checkpointer(
        container.engine,
        key,
        CheckpointDirectory(directory),
        every_seconds=cadence.get("every_seconds", 3600),
        every_rows=int(cadence.get("every_rows", 1000)),
    )


async def add_orgs(container: Container, count: int, prefix: str = "org") -> None:
    for n in range(count):
        await container.bus.handle(CreateOrg(name=f"{prefix}-{n}", actor="test"))


def superuser(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """The database owner, with the append-only triggers switched off for this session."""
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    conn.execute("SET session_replication_role = replica")
    return conn


@pytest.mark.postgres
async def test_a_checkpoint_is_stored_in_the_table_and_as_files(
    pg: Container, key: SigningKey, tmp_path: Path
) -> None:
    directory = tmp_path / "checkpoints"
    checkpoints = writer(pg, key, directory)
    assert (await checkpoints.checkpoint()).skipped == "the audit log is empty"
    await add_orgs(pg, 3)

    made = (await checkpoints.checkpoint()).made
    assert made is not None
    assert (made.seq, made.key_id) == (3, key.key_id)
    assert made.chain == await genesis_hash(pg.engine)  # the chain is named and signed
    assert key.check(made) is None
    assert await stored_checkpoints(pg.engine) == [made]
    directory = directory / made.chain  # each chain's files apart
    on_disk = json.loads((directory / file_name(3)).read_text())
    assert on_disk == made.as_dict()
    assert json.loads((directory / LATEST).read_text()) == made.as_dict()

    again = await checkpoints.checkpoint()
    assert (again.made, again.skipped) == (None, "no new rows since the checkpoint at seq 3")
    await add_orgs(pg, 2, "more")
    assert (await checkpoints.checkpoint(when_due=True)).skipped == "not due yet"
    second = (await checkpoints.checkpoint()).made
    assert second is not None
    assert second.seq == 5
    assert json.loads((directory / LATEST).read_text())["seq"] == 5
    assert sorted(p.name for p in directory.iterdir()) == [file_name(3), file_name(5), LATEST]


@pytest.mark.postgres
async def test_a_checkpoint_is_due_after_every_rows(
    pg: Container, key: SigningKey, tmp_path: Path
) -> None:
    checkpoints = writer(pg, key, tmp_path / "c", every_rows=4)
    await add_orgs(pg, 3)
    assert (await checkpoints.checkpoint(when_due=True)).skipped == "not due yet"
    await add_orgs(pg, 1, "fourth")
    made = (await checkpoints.checkpoint(when_due=True)).made
    assert made is not None
    assert made.seq == 4
    aged = writer(pg, key, tmp_path / "c", every_seconds=0.01)
    await add_orgs(pg, 1, "fifth")
    await asyncio.sleep(0.05)
    made = (await aged.checkpoint(when_due=True)).made
    assert made is not None
    assert made.seq == 5


@pytest.mark.postgres
async def test_replicas_writing_checkpoints_at_once_anchor_each_seq_once(
    fresh_pg: str, key: SigningKey, tmp_path: Path
) -> None:
    replicas = [container_for(fresh_pg, FLUXROUTER_WORKERS_EMBEDDED="false") for _ in range(3)]
    try:
        writers = [writer(r, key, tmp_path / f"host-{i}") for i, r in enumerate(replicas)]
        for wave in range(4):
            await asyncio.gather(*(add_orgs(r, 2, f"w{wave}-{i}") for i, r in enumerate(replicas)))
            outcomes = await asyncio.gather(*(w.checkpoint() for w in writers))
            made = [o.made for o in outcomes if o.made is not None]
            assert len(made) == 1, outcomes
            assert made[0].seq == 6 * (wave + 1)
            assert all(o.broken is None for o in outcomes)
        stored = await stored_checkpoints(replicas[0].engine)
        assert [c.seq for c in stored] == [6, 12, 18, 24]
        files = [p for i in range(3) for p in (tmp_path / f"host-{i}").glob("*/checkpoint-*.json")]
        assert len(files) == 4  # each written once, by the process that stored it
        check = await verify_online(
            replicas[0].engine, key, CheckpointDirectory(tmp_path / "host-0"), full=True
        )
        assert (check.ok, check.checked, check.checkpoints) == (True, 24, 4)
    finally:
        for replica in replicas:
            await replica.engine.dispose()
            replica.sync_engine.dispose()


@pytest.mark.postgres
async def test_no_checkpoint_is_signed_over_a_broken_chain(
    pg: Container, fresh_pg: str, key: SigningKey, tmp_path: Path
) -> None:
    checkpoints = writer(pg, key, tmp_path / "c")
    await add_orgs(pg, 4)
    assert (await checkpoints.checkpoint()).made is not None
    await add_orgs(pg, 3, "later")
    with superuser(fresh_pg) as conn:
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 6")
    outcome = await checkpoints.checkpoint()
    assert outcome.made is None
    assert outcome.broken is not None
    assert outcome.broken.seq == 6
    assert "hash mismatch" in outcome.broken.reason
    assert [c.seq for c in await stored_checkpoints(pg.engine)] == [4]


@pytest.mark.postgres
async def test_no_checkpoint_is_signed_below_a_truncation(
    pg: Container, fresh_pg: str, key: SigningKey, tmp_path: Path
) -> None:
    checkpoints = writer(pg, key, tmp_path / "c")
    await add_orgs(pg, 5)
    assert (await checkpoints.checkpoint()).made is not None
    with superuser(fresh_pg) as conn:  # the tail and its checkpoint, gone from the database
        conn.execute("DELETE FROM audit_log WHERE seq >= 4")
        conn.execute("DELETE FROM audit_checkpoints")
    await add_orgs(pg, 4, "refill")  # seq 4..7: the head is beyond the old checkpoint again
    outcome = await checkpoints.checkpoint()
    assert outcome.broken is not None
    assert outcome.broken.seq == 5  # the file's checkpoint at seq 5 no longer matches
    assert "does not match the signed checkpoint at seq 5" in outcome.broken.reason


@pytest.mark.postgres
async def test_postgres_refuses_update_delete_and_truncate_of_checkpoints(
    pg: Container, key: SigningKey, tmp_path: Path
) -> None:
    await add_orgs(pg, 1)
    assert (await writer(pg, key, tmp_path).checkpoint()).made is not None
    for statement in (
        "UPDATE audit_checkpoints SET hash = repeat('0', 64)",
        "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_checkpoints",
    ):
        async with pg.engine.connect() as conn:
            with pytest.raises(DBAPIError, match="audit_checkpoints is append-only"):
                await conn.execute(sa.text(statement))
    assert len(await stored_checkpoints(pg.engine)) == 1


async def test_sqlite_checkpoints_and_their_append_only_table(
    lite: Container, key: SigningKey, tmp_path: Path
) -> None:
    checkpoints = writer(lite, key, tmp_path / "c")
    await add_orgs(lite, 3)
    made = (await checkpoints.checkpoint()).made
    assert made is not None
    assert made.seq == 3
    for statement in ("UPDATE audit_checkpoints SET seq = 9", "DELETE FROM audit_checkpoints"):
        async with lite.engine.connect() as conn:
            with pytest.raises(DBAPIError, match="audit_checkpoints is append-only"):
                await conn.execute(sa.text(statement))
    check = await verify_online(lite.engine, key, checkpoints.directory, full=False)
    assert (check.ok, check.checked, check.checkpoint_seq) == (True, 1, 3)  # its row rehashed


@pytest.mark.postgres
async def test_online_check_is_incremental_from_the_newest_matching_checkpoint(
    pg: Container, fresh_pg: str, key: SigningKey, tmp_path: Path
) -> None:
    checkpoints = writer(pg, key, tmp_path / "c")
    await add_orgs(pg, 6)
    await checkpoints.checkpoint()
    await add_orgs(pg, 4, "after")
    directory = checkpoints.directory

    incremental = await verify_online(pg.engine, key, directory, full=False)
    assert incremental.ok
    # the checkpoint's row and the four after it
    assert (incremental.checked, incremental.head_seq, incremental.checkpoint_seq) == (5, 10, 6)
    assert (incremental.checkpoints, incremental.signatures_checked) == (1, True)
    full = await verify_online(pg.engine, key, directory, full=True)
    assert (full.ok, full.checked, full.head_seq, full.checkpoint_seq) == (True, 10, 10, 6)

    # a row below the checkpoint changed in place: only a full check recomputes it
    with superuser(fresh_pg) as conn:
        conn.execute('UPDATE audit_log SET data = \'{"name": "renamed"}\' WHERE seq = 2')
    full = await verify_online(pg.engine, key, directory, full=True)
    assert (full.ok, full.first_bad_seq) == (False, 2)
    assert "hash mismatch" in (full.reason or "")
    # a row deleted below the checkpoint: the link check sees the gap without rehashing
    with superuser(fresh_pg) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = 4")
    incremental = await verify_online(pg.engine, key, directory, full=False)
    assert (incremental.ok, incremental.first_bad_seq) == (False, 5)
    assert (incremental.reason or "").startswith("gap: expected seq 4, found 5")


def _edit_newest_row(url: str) -> None:
    """Someone with the database in hand edits the newest row in place, behind the triggers."""
    change = "UPDATE audit_log SET actor = 'mallory' WHERE seq = (SELECT max(seq) FROM audit_log)"
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1])
        try:
            conn.execute("DROP TRIGGER audit_log_no_update")
            conn.execute(change)
            conn.commit()
        finally:
            conn.close()
        return
    with superuser(url) as pg_conn:
        pg_conn.execute(change)


@pytest.mark.postgres
@pytest.mark.parametrize("shape", ["sqlite", "postgresql"])
async def test_the_default_check_sees_the_newest_row_edited_under_its_checkpoint(
    shape: str, key: SigningKey, tmp_path: Path
) -> None:
    with migrated_database(shape, tmp_path, "edited_head") as url:
        async with serving_container(url) as container:
            checkpoints = writer(container, key, tmp_path / "c")
            await add_orgs(container, 4)
            made = (await checkpoints.checkpoint()).made
            assert made is not None
            assert made.seq == 4  # the checkpoint anchors the newest row
            before = await verify_online(container.engine, key, checkpoints.directory, full=False)
            assert before.ok
            _edit_newest_row(url)
            after = await verify_online(container.engine, key, checkpoints.directory, full=False)
            assert (after.ok, after.first_bad_seq) == (False, 4)
            assert "hash mismatch" in (after.reason or "")
