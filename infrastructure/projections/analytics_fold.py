"""The analytics rollups: the request log folded into `analytics_hourly`, per UTC hour and
dimension, by a periodic job.

Each run reads the records after the watermark (`analytics_watermark`: the (ts, id) of the last
record folded) and before `until` (a little in the past, so that records still being written
have landed), a batch at a time, in (ts, id) order: one range of the request log's primary key.
A batch's records are summed by the database (`GROUP BY` the columns the rollup's dimensions
come from, and each latency's histogram bucket), so that Python only sees one row per group,
not per record; the groups are summed per rollup row, merged with the rows already there
(counts and sums added, histograms merged bucket by bucket) and written with one upsert, and
the watermark moves in the same transaction: a batch is folded exactly once, whatever crashes.
The watermark's row is locked first, so two runs at once fold one after the other.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Row,
    String,
    case,
    cast,
    delete,
    func,
    literal,
    literal_column,
    select,
    tuple_,
    update,
)

from domains.billing import histogram
from domains.billing.request_log import TAG_SEPARATOR
from infrastructure.db.tables import analytics_hourly, analytics_watermark, request_log
from infrastructure.db.tables.analytics import DIMENSIONS, HISTOGRAMS, SUMS
from infrastructure.db.upsert import insert_for
from infrastructure.projections.analytics_daily import merge_into_daily, rederive_hours

WATERMARK = "request_log"
BATCH = 5000
CACHE_HITS = frozenset(("hit", "semantic_hit", "semantic hit"))
_TIER = re.compile(r"\btier=([a-z_]+)")

Key = tuple[str, ...]


def hour_of(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H")


def status_class(status: int) -> str:
    return f"{max(0, min(status, 999)) // 100}xx"


def tier_of(route: str) -> str:
    found = _TIER.search(route)
    return found.group(1)[:16] if found else ""


def tags_of(searchable: str | None) -> list[str]:
    if not searchable:
        return []
    return sorted({tag[:600] for tag in searchable.split(TAG_SEPARATOR) if tag})


@dataclass
class Measures:
    sums: list[float] = field(default_factory=lambda: [0] * len(SUMS))
    latency: histogram.Counts = field(default_factory=dict)
    ttft: histogram.Counts = field(default_factory=dict)

    def add_group(self, group: Any) -> None:
        """Adds one group of `_grouped`: its sums, and its records to their buckets."""
        self.sums = [a + b for a, b in zip(self.sums, _sums_of(group), strict=True)]
        bucket = int(group.latency_bucket)
        self.latency[bucket] = self.latency.get(bucket, 0) + group.requests
        if group.ttft_bucket is not None:
            bucket = int(group.ttft_bucket)
            self.ttft[bucket] = self.ttft.get(bucket, 0) + group.ttft_count

    def add(self, other: Measures) -> None:
        self.sums = [a + b for a, b in zip(self.sums, other.sums, strict=True)]
        self.latency = histogram.merge((self.latency, other.latency))
        self.ttft = histogram.merge((self.ttft, other.ttft))

    def values(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            name: (float(v) if name.endswith("_ms") else int(v))
            for name, v in zip(SUMS, self.sums, strict=True)
        }
        found["latency_hist"] = histogram.encode(self.latency)
        found["ttft_hist"] = histogram.encode(self.ttft)
        return found

    @classmethod
    def of_row(cls, row: Row[Any]) -> Measures:
        return cls(
            sums=[getattr(row, name) for name in SUMS],
            latency=histogram.decode(row.latency_hist),
            ttft=histogram.decode(row.ttft_hist),
        )


def _sums_of(group: Any) -> list[float]:
    """A group's sums in `SUMS` order (PostgreSQL sums integers as numeric: made ints)."""
    return [
        float(v) if name.endswith("_ms") else int(v)
        for name, v in zip(SUMS, (getattr(group, name) for name in SUMS), strict=True)
    ]


def keys_of(group: Any) -> list[Key]:
    """The rollup rows a group's records count in: its "" tag row, and one per tag they carry."""
    base = (
        group.hour,
        group.org_id,
        group.team_id,
        group.key_id,
        group.user_id or "",
        group.model,
        group.requested_model,
        group.provider,
        group.dialect,
        status_class(group.status),
        tier_of(group.tier_text or ""),
    )
    return [(*base, tag) for tag in ["", *tags_of(group.tags)]]


# ------------------------------------------------------------------ the grouping, in SQL

_LOG = request_log.c


def _hour(dialect: str) -> ColumnElement[str]:
    """A record's UTC hour as the rollups spell it ("2026-12-07T20"); SQLite holds `ts` as
    text ("2026-12-07 20:15:03.123456"), PostgreSQL as a naive UTC timestamp."""
    if dialect == "postgresql":
        return func.to_char(_LOG.ts, 'YYYY-MM-DD"T"HH24', type_=String())
    return (
        func.substr(_LOG.ts, 1, 10, type_=String())
        + literal("T", String())
        + func.substr(_LOG.ts, 12, 2, type_=String())
    )


def bucket_sql(dialect: str, value: ColumnElement[float]) -> ColumnElement[int]:
    """`histogram.bucket_of(value)` in SQL: 0 up to 1 ms, else ⌈4·log2(value)⌉ within 1..LAST
    (the same epsilon as in Python, so that a value on a bound lands in the same bucket)."""
    if dialect == "postgresql":
        log2 = func.ln(value) / math.log(2)
        index = func.least(
            func.greatest(func.ceil(log2 * histogram.PER_DOUBLING - 1e-9), 1), histogram.LAST
        )
    else:
        log2 = func.log2(value)
        index = func.min(
            func.max(func.ceil(log2 * histogram.PER_DOUBLING - 1e-9), 1), histogram.LAST
        )
    return cast(case((value > 1.0, index), else_=0), Integer())


def _tier_text(dialect: str) -> ColumnElement[str]:
    """The part of `route` that names an `auto` tier ("…tier=simple…"), or "": `tier_of`
    reads the tier from it. One character before "tier=" is kept for its word boundary."""
    at = (
        func.strpos(_LOG.route, "tier=")
        if dialect == "postgresql"
        else func.instr(_LOG.route, "tier=")
    )
    start = case((at > 1, at - 1), else_=1)
    return case((at > 0, func.substr(_LOG.route, start, 23, type_=String())), else_="")


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _sqlite_math(conn: Connection) -> None:
    """`log2` and `ceil` on a SQLite built without its math functions: Python's, registered on
    the connection (the SQLite Python ships with usually has them)."""
    raw: Any = conn.connection.driver_connection
    try:
        raw.execute("SELECT log2(2.0), ceil(1.5)").fetchall()
    except sqlite3.OperationalError:
        register_math(raw)


def register_math(raw: Any) -> None:
    raw.create_function("log2", 1, _log2, deterministic=True)
    raw.create_function("ceil", 1, _ceil, deterministic=True)


def _log2(value: float | None) -> float | None:
    return math.log2(value) if value is not None and value > 0 else None


def _ceil(value: float | None) -> int | None:
    return math.ceil(value) if value is not None else None


def _grouped(conn: Connection, where: list[Any]) -> list[Row[Any]]:
    """The records matching `where` summed per combination of the columns the rollups'
    dimensions come from, and per latency and TTFT bucket."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        _sqlite_math(conn)
    by = [
        _hour(dialect).label("hour"),
        _LOG.org_id,
        _LOG.team_id,
        _LOG.key_id,
        _LOG.user_id,
        _LOG.model,
        _LOG.requested_model,
        _LOG.provider,
        _LOG.dialect,
        _LOG.status,
        _tier_text(dialect).label("tier_text"),
        _LOG.tags,
        bucket_sql(dialect, _LOG.latency_ms).label("latency_bucket"),
        case((_LOG.ttft_ms.is_(None), None), else_=bucket_sql(dialect, _LOG.ttft_ms)).label(
            "ttft_bucket"
        ),
    ]
    measures = [
        func.count().label("requests"),
        _flag(_LOG.outcome == "error").label("errors"),
        _flag(_LOG.cancelled.is_(True)).label("cancelled"),
        *(
            func.coalesce(func.sum(column), 0).label(column.name)
            for column in (
                _LOG.prompt_tokens,
                _LOG.cached_tokens,
                _LOG.cache_write_tokens,
                _LOG.completion_tokens,
                _LOG.reasoning_tokens,
                _LOG.cost_picousd,
            )
        ),
        _flag(_LOG.cache.in_(sorted(CACHE_HITS))).label("cache_hits"),
        func.coalesce(func.sum(_LOG.saved_picousd), 0).label("cache_saved_picousd"),
        func.coalesce(func.sum(_LOG.latency_ms), 0.0).label("latency_sum_ms"),
        func.count(_LOG.ttft_ms).label("ttft_count"),
        func.coalesce(func.sum(_LOG.ttft_ms), 0.0).label("ttft_sum_ms"),
    ]
    # GROUP BY the expressions' positions: the same expressions, written once
    return list(
        conn.execute(
            select(*by, *measures)
            .where(*where)
            .group_by(*(literal_column(str(i)) for i in range(1, len(by) + 1)))
        )
    )


def sum_records(groups: Iterable[Any]) -> dict[Key, Measures]:
    sums: dict[Key, Measures] = {}
    for group in groups:
        for key in keys_of(group):
            sums.setdefault(key, Measures()).add_group(group)
    return sums


def _claim_watermark(conn: Connection) -> Row[Any]:
    """The watermark's row, locked until the transaction ends (its update takes the lock on
    both databases)."""
    insert = insert_for(conn.dialect, analytics_watermark).on_conflict_do_nothing()
    conn.execute(insert, {"name": WATERMARK, "ts": None, "id": "", "folded": 0})
    conn.execute(
        update(analytics_watermark)
        .where(analytics_watermark.c.name == WATERMARK)
        .values(folded=analytics_watermark.c.folded)
    )
    return conn.execute(
        select(analytics_watermark).where(analytics_watermark.c.name == WATERMARK)
    ).one()


def merge_into_rollups(conn: Connection, sums: dict[Key, Measures]) -> None:
    """Adds `sums` to the rows of `analytics_hourly` (under the watermark's lock)."""
    if not sums:
        return
    hours = sorted({key[0] for key in sums})
    keys = sorted({key[3] for key in sums})  # the API key: the narrowest dimension indexed
    existing = conn.execute(
        select(analytics_hourly).where(
            analytics_hourly.c.key_id.in_(keys), analytics_hourly.c.hour.in_(hours)
        )
    )
    for row in existing:
        key = tuple(getattr(row, name) for name in DIMENSIONS)
        if key in sums:
            sums[key].add(Measures.of_row(row))
    upsert = insert_for(conn.dialect, analytics_hourly)
    measures = (*SUMS, *HISTOGRAMS)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=list(DIMENSIONS),
            set_={name: upsert.excluded[name] for name in measures},
        ),
        [
            {**dict(zip(DIMENSIONS, key, strict=True)), **total.values()}
            for key, total in sorted(sums.items())
        ],
    )


def _after(ts: datetime, id_: str) -> Any:
    """The records after (ts, id) in the log's order."""
    return tuple_(_LOG.ts, _LOG.id) > tuple_(literal(ts, _LOG.ts.type), literal(id_, String()))


def _at_or_before(ts: datetime, id_: str) -> Any:
    return tuple_(_LOG.ts, _LOG.id) <= tuple_(literal(ts, _LOG.ts.type), literal(id_, String()))


def _batch_end(conn: Connection, window: list[Any], batch: int) -> Row[Any, Any] | None:
    """The (ts, id) of the `batch`-th record of `window` in the log's order, else of its last
    (None: it is empty)."""
    order = select(_LOG.ts, _LOG.id).where(*window)
    found = conn.execute(order.order_by(_LOG.ts, _LOG.id).offset(batch - 1).limit(1)).first()
    if found is None:
        found = conn.execute(order.order_by(_LOG.ts.desc(), _LOG.id.desc()).limit(1)).first()
    return found


def fold_batch(conn: Connection, *, until: datetime, batch: int = BATCH) -> int:
    """Folds the next `batch` records before `until`; how many it folded (0: none left)."""
    mark = _claim_watermark(conn)
    window = [_LOG.ts < until]
    if mark.ts is not None:
        window.append(_after(mark.ts, mark.id))
    end = _batch_end(conn, window, batch)
    if end is None:
        return 0
    groups = _grouped(conn, [*window, _at_or_before(end.ts, end.id)])
    sums = sum_records(groups)
    merge_into_daily(conn, sums)  # before the hourly merge, which adds the rows there to `sums`
    merge_into_rollups(conn, sums)
    folded = sum(int(group.requests) for group in groups)
    conn.execute(
        update(analytics_watermark)
        .where(analytics_watermark.c.name == WATERMARK)
        .values(ts=end.ts, id=end.id, folded=analytics_watermark.c.folded + folded)
    )
    return folded


def _up_to(mark: Row[Any]) -> list[Any]:
    """The records at or before the watermark."""
    return [_at_or_before(mark.ts, mark.id)]


def reconcile_hours(conn: Connection, *, hours: int) -> list[str]:
    """Folds again each of the last `hours` hours up to the watermark whose records (at or
    before the watermark) do not number the requests of its rollups: records written after the
    fold passed their time (a spool replayed after a crash, an accounting far behind). Such an
    hour's rollup rows are deleted and its records folded anew. The hours folded again."""
    mark = _claim_watermark(conn)
    if mark.ts is None:
        return []
    last = mark.ts.replace(minute=0, second=0, microsecond=0)
    redone = []
    for back in range(hours):
        start = last - timedelta(hours=back)
        hour = hour_of(start)
        in_hour = [request_log.c.ts >= start, request_log.c.ts < start + timedelta(hours=1)]
        logged = conn.execute(
            select(func.count()).select_from(request_log).where(*in_hour, *_up_to(mark))
        ).scalar_one()
        rolled = conn.execute(
            select(func.coalesce(func.sum(analytics_hourly.c.requests), 0)).where(
                analytics_hourly.c.hour == hour, analytics_hourly.c.tag == ""
            )
        ).scalar_one()
        if int(logged) == int(rolled):
            continue
        conn.execute(delete(analytics_hourly).where(analytics_hourly.c.hour == hour))
        merge_into_rollups(conn, sum_records(_grouped(conn, [*in_hour, *_up_to(mark)])))
        redone.append(hour)
    rederive_hours(conn, redone)
    return redone


class AnalyticsFolder:
    """Runs the fold in transactions of one batch each, until the records before `until` are
    all folded."""

    def __init__(self, engine: Engine, *, batch: int = BATCH) -> None:
        self._engine = engine
        self._batch = batch

    def fold(self, until: datetime) -> int:
        total = 0
        while True:
            with self._engine.connect() as conn:
                conn.execution_options(fluxrouter_writes=True)
                with conn.begin():
                    done = fold_batch(conn, until=until, batch=self._batch)
            total += done
            if done < self._batch:
                return total

    def reconcile(self, *, hours: int) -> list[str]:
        with self._engine.connect() as conn:
            conn.execution_options(fluxrouter_writes=True)
            with conn.begin():
                return reconcile_hours(conn, hours=hours)
