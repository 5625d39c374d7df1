"""Retention of the time-keyed tables (the request log, the kept bodies, and any other table
keyed by `ts`): what is past a table's retention is removed without holding its writers up.

- PostgreSQL, a table partitioned by day on `ts` (`<table>_pYYYYMMDD`, and `<table>_default`
  for a day without its own): whole days past retention are dropped, a partition at a time,
  each drop waiting at most `lock_timeout_ms` for its lock (a drop that cannot have it at once
  is left to the next run, instead of queueing writers behind it); the next `ahead_days`
  days' partitions are made ahead; rows of the default partition past retention are deleted
  in batches.
- Anywhere else (SQLite, an unpartitioned table): the rows past retention are deleted in
  batches of `batch` rows, a transaction each, pausing between two at least as long as the
  batch took (and `pause` seconds), so a write waits at most one batch's delete.

Synchronous: it runs in a worker's thread (the Dramatiq actor `prune_retention`), never on an
event loop.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import structlog
from sqlalchemy import Connection, Engine, bindparam, text
from sqlalchemy.exc import DBAPIError

from infrastructure.db.types import UtcDateTime

log = structlog.get_logger("fluxrouter.retention")

_PARTITION = re.compile(r"_p(\d{8})$")


@dataclass(frozen=True, slots=True)
class Retained:
    """A table keyed by `ts`, and how many days its rows are kept (None: for ever)."""

    table: str
    days: int | None


@dataclass(slots=True)
class Pruned:
    """What one run removed: rows deleted and partitions dropped, per table."""

    rows: dict[str, int] = field(default_factory=dict)
    partitions: dict[str, list[str]] = field(default_factory=dict)
    made: dict[str, list[str]] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC)


class RetentionPruner:
    def __init__(
        self,
        engine: Engine,
        tables: Sequence[Retained],
        *,
        batch: int = 5000,
        pause: float = 0.005,
        ahead_days: int = 7,
        lock_timeout_ms: int = 100,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        for retained in tables:
            if not re.fullmatch(r"[a-z_]+", retained.table):
                raise ValueError(f"not a table name: {retained.table!r}")
        self._engine = engine
        self._tables = tuple(tables)
        self._batch = batch
        self._pause = pause
        self._ahead = ahead_days
        self._lock_timeout = int(lock_timeout_ms)
        self._clock = clock

    def run(self) -> Pruned:
        """One pass over every table: partitions made ahead, then what is past retention
        removed."""
        now = self._clock()
        pruned = Pruned()
        for retained in self._tables:
            partitioned = self._partitioned(retained.table)
            if partitioned:
                pruned.made[retained.table] = self.make_partitions(retained.table, now.date())
            if retained.days is None:
                continue
            cutoff = now - timedelta(days=retained.days)
            if partitioned:
                pruned.partitions[retained.table] = self._drop_partitions(retained.table, cutoff)
            # what is left past retention (the default partition's rows, a day whose partition
            # could not be dropped: a gateway role that does not own the table may not), deleted
            # through the table itself, whose privileges are the gateway's
            pruned.rows[retained.table] = self._delete_rows(
                retained.table, cutoff, partitioned=partitioned
            )
        return pruned

    def _partitioned(self, table: str) -> bool:
        if self._engine.dialect.name != "postgresql":
            return False
        with self._engine.connect() as conn:
            kind = conn.execute(
                text("SELECT relkind FROM pg_class WHERE relname = :t AND relkind IN ('p', 'r')"),
                {"t": table},
            ).scalar()
        return kind == "p"

    def partitions(self, table: str) -> dict[date, str]:
        """The day partitions of a partitioned table (PostgreSQL), by day."""
        with self._engine.connect() as conn:
            names = conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i "
                    "JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :t"
                ),
                {"t": table},
            ).scalars()
            found: dict[date, str] = {}
            for name in names:
                day = _PARTITION.search(name)
                if day is not None and name == f"{table}_p{day.group(1)}":
                    found[datetime.strptime(day.group(1), "%Y%m%d").date()] = name
        return found

    def make_partitions(self, table: str, today: date) -> list[str]:
        """The partitions of `today` and the next `ahead_days` days that were missing, made
        (a day whose rows are already in the default partition keeps them there)."""
        have = self.partitions(table)
        made: list[str] = []
        for n in range(self._ahead + 1):
            day = today + timedelta(days=n)
            if day in have:
                continue
            name = f"{table}_p{day:%Y%m%d}"
            following = day + timedelta(days=1)
            statement = (
                f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{table}" '
                f"FOR VALUES FROM ('{day.isoformat()}') TO ('{following.isoformat()}')"
            )
            if self._ddl(statement):
                made.append(name)
        return made

    def _drop_partitions(self, table: str, cutoff: datetime) -> list[str]:
        """Drops the partitions whose whole day is before `cutoff`, oldest first."""
        dropped: list[str] = []
        for day, name in sorted(self.partitions(table).items()):
            if datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC) > cutoff:
                break
            if not self._ddl(f'DROP TABLE IF EXISTS "{name}"'):
                break  # its lock was not to be had at once: the next run tries again
            dropped.append(name)
        return dropped

    def _ddl(self, statement: str) -> bool:
        """Runs `statement` in a transaction of its own that waits at most `lock_timeout_ms`
        for its locks; False (logged) when it could not."""
        try:
            with self._engine.begin() as conn:
                conn.execute(text(f"SET LOCAL lock_timeout = '{self._lock_timeout}ms'"))
                conn.execute(text(statement))
        except DBAPIError as error:
            log.warning(
                "retention.ddl_deferred", statement=statement, error=type(error.orig).__name__
            )
            return False
        return True

    def _delete_rows(self, table: str, cutoff: datetime, *, partitioned: bool = False) -> int:
        """Deletes the rows of `table` with `ts` before `cutoff`, `batch` a transaction (a row of
        a partitioned table is found by its partition and its place in it)."""
        if partitioned:
            key = "tableoid, ctid"
        else:
            key = "ctid" if self._engine.dialect.name == "postgresql" else "rowid"
        statement = text(
            f'DELETE FROM "{table}" WHERE ({key}) IN '  # noqa: S608 (names checked at __init__)
            f'(SELECT {key} FROM "{table}" WHERE ts < :cutoff LIMIT :batch)'
        ).bindparams(bindparam("cutoff", type_=UtcDateTime()))
        total = 0
        while True:
            began = time.perf_counter()
            with self._engine.begin() as conn:
                deleted = _rowcount(conn, statement, cutoff, self._batch)
            total += deleted
            if deleted < self._batch:
                return total
            # the writers' turn between two batches: at least as long as the batch held them
            time.sleep(max(self._pause, time.perf_counter() - began))


def _rowcount(conn: Connection, statement: object, cutoff: datetime, batch: int) -> int:
    result = conn.execute(statement, {"cutoff": cutoff, "batch": batch})  # type: ignore[call-overload]
    return int(result.rowcount or 0)
