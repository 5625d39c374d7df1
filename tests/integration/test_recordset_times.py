"""The recordset insert against PostgreSQL: times of any offset stored as naive UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Column, MetaData, String, Table, create_engine, text

from infrastructure.db.recordset import as_recordset, recordset_insert
from infrastructure.db.types import UtcDateTime


def test_postgresql_stores_the_times_as_naive_utc(migrated_pg: str) -> None:
    """What the statement means to PostgreSQL: each time, of whatever offset, is stored as the
    naive UTC wall time that `UtcDateTime` reads back."""
    engine = create_engine(migrated_pg)
    table = Table(
        "recordset_times", MetaData(), Column("id", String(8)), Column("at", UtcDateTime())
    )
    try:
        with engine.begin() as conn:
            table.create(conn)
            offset = datetime(2026, 11, 24, 5, 30, tzinfo=timezone(timedelta(hours=2)))
            utc = datetime(2026, 11, 24, 5, 30, 0, 250, tzinfo=UTC)
            rows = [{"id": "offset", "at": offset}, {"id": "utc", "at": utc}]
            conn.execute(recordset_insert(table, ["id", "at"]), as_recordset(table, rows))
            stored = dict(conn.execute(text("SELECT id, at::text FROM recordset_times")).all())
            read = dict(conn.execute(table.select()).all())
    finally:
        with engine.begin() as conn:
            table.drop(conn, checkfirst=True)
        engine.dispose()
    assert stored == {"offset": "2026-11-24 03:30:00", "utc": "2026-11-24 05:30:00.00025"}
    assert read == {"offset": offset, "utc": utc}
