"""The spool on a real disk: records read back whole or skipped when cut short, files claimed once
each and only from dead owners, replays written once by event id, and a re-seeded budget that
counts what the database has not taken yet."""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from application.billing.unwritten_spend import unwritten_spend
from application.providers.call import Call
from application.providers.commands import RecordCompletions
from application.providers.recorder import CompletionRecorder
from domains.billing.budget import Amount, Budget
from domains.billing.model import Price
from domains.providers.events import CompletionFinished
from domains.providers.model import ModelRoute
from domains.shared.caller import Caller
from domains.shared.events import Command
from domains.shared.money import to_picodollars
from infrastructure.db.tables import usage_records
from infrastructure.spool.claim import claim
from infrastructure.spool.reconcile import owed
from infrastructure.spool.records import Finished, Released, Started, line, read_lines
from infrastructure.spool.spool import FileSpool
from tests.integration.conftest import container_for
from tests.unit.samples import completion

CALLER = Caller(key_id="key-1", key_prefix="fr-x", team_id="team-1", org_id="org-1")
ROUTE = ModelRoute(provider="openai", kind="openai", name="gpt-4o-mini", upstream="gpt-4o-mini")


def a_call(call_id: str, request_id: str = "req-1") -> Call:
    return Call(CALLER, request_id, ROUTE, "chat", stream=True, event_id=call_id)


def records_of(path: Path) -> list[object]:
    return list(read_lines(path.read_bytes()).records)


def test_a_line_cut_short_or_corrupt_is_skipped_and_the_others_read() -> None:
    first, second, third = (completion(request_id=f"r{n}") for n in range(3))
    whole = line(Finished(event=first)) + line(Finished(event=second))
    corrupt = bytearray(line(Finished(event=third)))
    corrupt[20] ^= 0x01  # one bit flipped in the JSON: the checksum no longer matches
    cut = line(Finished(event=third))[:-7]  # killed mid-write: no newline
    reading = read_lines(whole + bytes(corrupt) + cut)
    assert reading.records == [Finished(event=first), Finished(event=second)]
    assert reading.skipped == 2


def test_a_dead_process_owes_its_finished_calls_once_and_its_cut_ones_their_reservation() -> None:
    done = completion(event_id="c1", request_id="done")
    started_done = _started("c1", "done")
    cut = _started("c2", "cut-by-kill", input_tokens=120, output_tokens=4096)
    released = _started("c3", "released")
    records = [
        started_done,
        cut,
        released,
        Finished(event=done),
        Finished(event=done),  # the same call journaled again (a replay, a rotation)
        _released("c3"),
    ]
    calls = owed(records)
    assert calls.finished == [done]
    [charged] = calls.reconciled
    assert charged.event_id == "c2"
    assert charged.request_id == "cut-by-kill"
    assert (charged.input_tokens, charged.output_tokens) == (120, 4096)
    assert (charged.outcome, charged.usage_reported) == ("cancelled", False)
    assert charged.occurred_at == cut.at


def _started(
    call_id: str, request_id: str, *, input_tokens: int = 0, output_tokens: int = 10
) -> Started:
    return Started(
        call_id=call_id,
        request_id=request_id,
        endpoint="chat",
        key_id="key-1",
        team_id="team-1",
        org_id="org-1",
        user_id=None,
        provider="openai",
        model="gpt-4o-mini",
        upstream_model="gpt-4o-mini",
        stream=True,
        transport="http",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def _released(call_id: str) -> Released:
    return Released(call_id=call_id)


async def test_a_live_owners_file_is_never_claimed_and_a_dead_ones_exactly_once(
    tmp_path: Path,
) -> None:
    live = FileSpool(tmp_path)
    live.open()
    live.finished(completion(event_id="live-1"))
    dead = FileSpool(tmp_path)
    dead.open()
    dead.started(a_call("d1"), 10, 20)
    dead.finished(completion(event_id="d2"))
    await dead.close(settled=False)  # stopped with calls not written: the file stays
    assert dead.path is None

    first = claim(tmp_path, own=None)
    second = claim(tmp_path, own=None)  # a second process starting at the same time
    assert [path.name for path, _ in second.files] == []  # the claimed one is locked, the live too
    assert len(first.files) == 1
    calls = owed(first.records)
    assert [call.event_id for call in calls.finished] == ["d2"]
    assert [call.event_id for call in calls.reconciled] == ["d1"]
    first.done()
    assert claim(tmp_path, own=None).files == []  # deleted: never replayed twice
    assert live.path is not None
    assert live.path.exists()
    await live.close(settled=True)
    assert list(tmp_path.glob("*.spool")) == []


async def test_a_file_is_hidden_until_its_owner_holds_its_lock(tmp_path: Path) -> None:
    spool = FileSpool(tmp_path)
    spool.open()
    assert spool.path is not None
    fd = os.open(spool.path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            locked_by_owner = False
        except BlockingIOError:
            locked_by_owner = True
    finally:
        os.close(fd)
    assert locked_by_owner
    assert [path.name for path in tmp_path.iterdir()] == [spool.path.name]
    await spool.close(settled=True)


async def test_a_settled_spool_past_its_size_starts_afresh_with_the_calls_under_way(
    tmp_path: Path,
) -> None:
    spool = FileSpool(tmp_path, segment_bytes=2048)
    spool.open()
    first = spool.path
    spool.started(a_call("open-1"), 5, 50)
    for n in range(10):
        spool.started(a_call(f"done-{n}"), 5, 50)
        spool.finished(completion(event_id=f"done-{n}"))
    await spool.settled()
    assert first is not None
    assert not first.exists()
    assert spool.path is not None
    assert spool.path != first
    assert [type(r).__name__ for r in records_of(spool.path)] == ["Started"]
    assert owed(read_lines(spool.path.read_bytes()).records).reconciled[0].event_id == "open-1"
    spool.released("open-1")
    await spool.close(settled=True)
    assert list(tmp_path.glob("*.spool")) == []


async def test_calls_left_in_a_spool_are_written_once_at_the_next_start_however_often_replayed(
    tmp_path: Path, migrated_sqlite: str
) -> None:
    spool_dir = tmp_path / "spool"

    async def database_down(command: Command) -> None:
        raise ConnectionError("the database is down")

    spool = FileSpool(spool_dir)
    spool.open()
    down = CompletionRecorder(database_down, journal=spool, stop_flush=0.5)
    down.start()
    calls = [completion(event_id=f"e{n}", request_id=f"r{n}") for n in range(5)]
    for call in calls:
        down.record(call)
    await asyncio.sleep(0.1)
    await down.stop()
    await spool.close(settled=down.unwritten == 0)
    assert len(list(spool_dir.glob("*.spool"))) == 1  # left for the next start

    container = container_for(migrated_sqlite, FLUXROUTER_WORKERS_EMBEDDED="false")
    try:
        written: list[RecordCompletions] = []
        handle = container.recorder._handle

        async def watching(command: Command) -> None:
            assert isinstance(command, RecordCompletions)
            written.append(command)
            await handle(command)

        for _ in range(2):  # the same calls replayed twice (a crash after the first write)
            claimed = claim(spool_dir, own=None)
            left = owed(claimed.records).events
            claimed.let_go()
            recorder = CompletionRecorder(watching)
            recorder.adopt(left)
            recorder.start()
            await asyncio.wait_for(recorder.wait_idle(), 30)
            await recorder.stop()
        async with container.engine.connect() as conn:
            rows = (await conn.execute(select(func.count()).select_from(usage_records))).scalar()
    finally:
        await container.engine.dispose()
        container.sync_engine.dispose()
    assert rows == len(calls)
    assert all(command.replayed for command in written)


def test_a_reseed_counts_the_calls_the_database_has_not_taken() -> None:
    now = datetime(2026, 5, 6, 12, tzinfo=UTC)
    price = Price(input_per_mtok=Decimal(1), output_per_mtok=Decimal(2))

    class Prices:
        def price_of(self, provider: str, model: str) -> Price | None:
            return price if model == "gpt-4o-mini" else None

    waiting: list[CompletionFinished] = [
        completion(
            team_id="t1", input_tokens=1000, output_tokens=500, cached_tokens=0, occurred_at=now
        ),
        completion(
            team_id="t1",
            input_tokens=10,
            output_tokens=0,
            cached_tokens=0,
            occurred_at=now.replace(day=5),
        ),  # yesterday: not today's window
        completion(team_id="t2", input_tokens=7, output_tokens=7, occurred_at=now),
    ]
    day = Budget(scope="team", scope_id="t1", period="day", max_picousd=None, max_tokens=None)
    month = Budget(scope="team", scope_id="t1", period="month", max_picousd=None, max_tokens=None)
    assert unwritten_spend(waiting, day, now, Prices()) == Amount(
        to_picodollars(Decimal(1000 * 1 + 500 * 2) / 1_000_000), 1500
    )
    assert unwritten_spend(waiting, month, now, Prices()).tokens == 1510


async def test_spool_status_lists_a_left_file_with_what_it_holds(tmp_path: Path) -> None:
    spool = FileSpool(tmp_path / "spool")
    spool.open()
    assert spool.path is not None
    name = spool.path.name
    spool.started(a_call("s1"), 1, 2)
    spool.finished(completion(event_id="f1"))
    await spool.close(settled=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUXROUTER_")}
    env["FLUXROUTER_ACCOUNTING_SPOOL_DIR"] = str(tmp_path / "spool")
    env["FLUXROUTER_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    shown = subprocess.run(
        [str(Path(sys.executable).parent / "fluxrouter"), "spool", "status"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert f"{name}  left  " in shown.stdout, shown.stdout  # no process holds it
    assert "started 1  finished 1  released 0  under way 1  skipped lines 0" in shown.stdout
