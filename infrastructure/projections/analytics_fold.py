"""The analytics rollups: the request log folded into `analytics_hourly`, per UTC hour and
dimension, by a periodic job.

Each run reads the records after the watermark (`analytics_watermark`: the (ts, id) of the last
record folded) and before `until` (a little in the past, so that records still being written
have landed), a batch at a time, in (ts, id) order: one range of the request log's primary key.
A batch's records are summed in memory per rollup row, merged with the rows already there
(counts and sums added, histograms merged bucket by bucket) and written with one upsert, and
the watermark moves in the same transaction: a batch is folded exactly once, whatever crashes.
The watermark's row is locked first, so two runs at once fold one after the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, delete, func, or_, select, update

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

    def add_record(self, row: Any) -> None:
        s = self.sums
        s[0] += 1
        s[1] += row.outcome == "error"
        s[2] += bool(row.cancelled)
        s[3] += row.prompt_tokens
        s[4] += row.cached_tokens
        s[5] += row.cache_write_tokens
        s[6] += row.completion_tokens
        s[7] += row.reasoning_tokens
        s[8] += row.cost_picousd
        s[9] += row.cache in CACHE_HITS
        s[10] += row.saved_picousd  # what the gateway's response cache saved
        s[11] += row.latency_ms
        histogram.add(self.latency, row.latency_ms)
        if row.ttft_ms is not None:
            s[12] += 1
            s[13] += row.ttft_ms
            histogram.add(self.ttft, row.ttft_ms)

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


def keys_of(row: Any) -> list[Key]:
    """The rollup rows a record counts in: its "" tag row, and one per tag it carries."""
    base = (
        hour_of(row.ts),
        row.org_id,
        row.team_id,
        row.key_id,
        row.user_id or "",
        row.model,
        row.requested_model,
        row.provider,
        row.dialect,
        status_class(row.status),
        tier_of(row.route),
    )
    return [(*base, tag) for tag in ["", *tags_of(row.tags)]]


_READ = (
    request_log.c.ts,
    request_log.c.id,
    request_log.c.org_id,
    request_log.c.team_id,
    request_log.c.key_id,
    request_log.c.user_id,
    request_log.c.model,
    request_log.c.requested_model,
    request_log.c.provider,
    request_log.c.dialect,
    request_log.c.status,
    request_log.c.route,
    request_log.c.outcome,
    request_log.c.cancelled,
    request_log.c.prompt_tokens,
    request_log.c.cached_tokens,
    request_log.c.cache_write_tokens,
    request_log.c.completion_tokens,
    request_log.c.reasoning_tokens,
    request_log.c.cost_picousd,
    request_log.c.cache,
    request_log.c.saved_picousd,
    request_log.c.latency_ms,
    request_log.c.ttft_ms,
    request_log.c.tags,
)


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


def sum_records(rows: Iterable[Any]) -> dict[Key, Measures]:
    sums: dict[Key, Measures] = {}
    for row in rows:
        for key in keys_of(row):
            sums.setdefault(key, Measures()).add_record(row)
    return sums


def merge_into_rollups(conn: Connection, sums: dict[Key, Measures]) -> None:
    """Adds `sums` to the rows of `analytics_hourly` (under the watermark's lock)."""
    if not sums:
        return
    hours = sorted({key[0] for key in sums})
    orgs = sorted({key[1] for key in sums})
    existing = conn.execute(
        select(analytics_hourly).where(
            analytics_hourly.c.hour.in_(hours), analytics_hourly.c.org_id.in_(orgs)
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


def fold_batch(conn: Connection, *, until: datetime, batch: int = BATCH) -> int:
    """Folds the next `batch` records before `until`; how many it folded (0: none left)."""
    mark = _claim_watermark(conn)
    after = []
    if mark.ts is not None:
        after.append(
            or_(
                request_log.c.ts > mark.ts,
                and_(request_log.c.ts == mark.ts, request_log.c.id > mark.id),
            )
        )
    rows = conn.execute(
        select(*_READ)
        .where(request_log.c.ts < until, *after)
        .order_by(request_log.c.ts, request_log.c.id)
        .limit(batch)
    ).all()
    if not rows:
        return 0
    sums = sum_records(rows)
    merge_into_daily(conn, sums)
    merge_into_rollups(conn, sums)
    last = rows[-1]
    conn.execute(
        update(analytics_watermark)
        .where(analytics_watermark.c.name == WATERMARK)
        .values(ts=last.ts, id=last.id, folded=analytics_watermark.c.folded + len(rows))
    )
    return len(rows)


def _up_to(mark: Row[Any]) -> list[Any]:
    """The records at or before the watermark."""
    return [
        or_(
            request_log.c.ts < mark.ts,
            and_(request_log.c.ts == mark.ts, request_log.c.id <= mark.id),
        )
    ]


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
        after: tuple[Any, str] | None = None
        while True:
            page = [*in_hour, *_up_to(mark)]
            if after is not None:
                page.append(
                    or_(
                        request_log.c.ts > after[0],
                        and_(request_log.c.ts == after[0], request_log.c.id > after[1]),
                    )
                )
            rows = conn.execute(
                select(*_READ)
                .where(*page)
                .order_by(request_log.c.ts, request_log.c.id)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            merge_into_rollups(conn, sum_records(rows))
            after = (rows[-1].ts, rows[-1].id)
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
