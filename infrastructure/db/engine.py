"""Engines for PostgreSQL (psycopg 3) and SQLite (aiosqlite), built on demand, never at import.

SQLite: WAL, a 30 s busy timeout, foreign keys on, and a connection marked with the execution
option `WRITE_OPTION` begins with `BEGIN IMMEDIATE`, so concurrent writers (the gateway and the
embedded projection worker) queue instead of failing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine_
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

WRITE_OPTION = "fluxrouter_writes"

_json = msgspec.json.Encoder()


def json_text(value: Any) -> str:
    """A JSON column's text: msgspec's encoding (several times the standard library's speed), in
    which a `msgspec.Raw` (a document encoded once already) is written as it is."""
    return _json.encode(value).decode()


BUSY_TIMEOUT_SECONDS = 30
"""How long a SQLite writer waits for the write lock before its statement fails."""


def is_database_busy(exc: BaseException) -> bool:
    """SQLite's write lock stayed taken past the busy timeout (`database is locked`): nothing
    was written, and the same request may succeed once the writer holding it is done."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sync_url(url: str) -> str:
    """The same database through a synchronous driver (alembic, Dramatiq workers)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if parsed.drivername in ("postgresql", "postgresql+asyncpg"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def async_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _tune_sqlite(sync_engine: Engine) -> None:
    @event.listens_for(sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        # Writers take the lock up front (no upgrade deadlock); plain reads stay deferred.
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    url = async_url(url)
    if is_sqlite(url):
        engine = create_async_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS}, json_serializer=json_text
        )
        _tune_sqlite(engine.sync_engine)
        return engine
    return create_async_engine(
        url,
        json_serializer=json_text,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def create_sync_engine(url: str, *, pool_size: int = 5) -> Engine:
    url = sync_url(url)
    if is_sqlite(url):
        engine = create_sync_engine_(
            url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS}, json_serializer=json_text
        )
        _tune_sqlite(engine)
        return engine
    return create_sync_engine_(
        url, pool_size=pool_size, pool_pre_ping=True, json_serializer=json_text
    )


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """`engine.begin()` for a transaction that writes: the write option is set before the
    transaction begins, so on SQLite it takes the lock up front (`BEGIN IMMEDIATE`) and waits
    for another writer, where a read that upgraded to a write would fail at once."""
    async with engine.connect() as conn:
        await conn.execution_options(**{WRITE_OPTION: True})
        async with conn.begin():
            yield conn


async def begin_writing(engine: AsyncEngine) -> AsyncConnection:
    """A connection of the pool in a transaction that writes (`WRITE_OPTION`), for an owner that
    opens and ends it in steps of its own; `end_writing` gives it back."""
    conn = await engine.connect()
    await conn.execution_options(**{WRITE_OPTION: True})
    await conn.begin()
    return conn


async def end_writing(conn: AsyncConnection) -> None:
    """Rolls back what `conn` did not commit and gives it back to the pool."""
    try:
        if conn.in_transaction():
            await conn.rollback()
    finally:
        await conn.close()
