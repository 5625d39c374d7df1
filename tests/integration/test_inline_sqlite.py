"""An engine with `inline` SQLite statements (the accounting process's) runs them on the event
loop's own thread, and reads and writes as the threaded one does."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from infrastructure.db.engine import create_engine, writing


async def test_inline_statements_run_on_the_loop_and_write_what_the_threaded_engine_reads(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}"
    inline, threaded = create_engine(url, inline=True), create_engine(url)
    seen: list[int] = []
    try:
        async with writing(inline) as conn:
            raw = await conn.get_raw_connection()
            sqlite = raw.driver_connection._conn  # type: ignore[union-attr]
            sqlite.create_function("where_am_i", 0, lambda: seen.append(threading.get_ident()))
            await conn.execute(text("CREATE TABLE t (n INTEGER, doc JSON)"))
            await conn.execute(text("INSERT INTO t VALUES (1, '{}')"))
            await conn.execute(text("SELECT where_am_i()"))
        async with threaded.connect() as conn:
            assert (await conn.execute(text("SELECT n FROM t"))).scalar_one() == 1
    finally:
        await inline.dispose()
        await threaded.dispose()
    assert seen == [threading.get_ident()]
