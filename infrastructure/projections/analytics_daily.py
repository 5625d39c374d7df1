"""The narrow rollups (`analytics_by_provider`, `analytics_by_tier`, `analytics_by_model`,
`analytics_by_key`, `analytics_by_class`, `analytics_by_tag`: `NARROW`): the hourly rollups'
measures keyed by a few dimensions only, per UTC day and per UTC hour, so that a report over
weeks reads a few rows a day instead of one per combination of every dimension.

- The fold feeds them: each batch's sums per `analytics_hourly` key (`sums`, in `DIMENSIONS`
  order) are projected on each narrow rollup's dimensions, at both grains, summed, and merged
  into the rows already there (counts and sums added, histograms merged bucket by bucket), in
  the fold's transaction: `merge_into_daily`, called with the batch's sums before
  `merge_into_rollups` (which adds the rows already there into them).
- The reconciliation (an hour whose hourly rollup rows were deleted and folded anew) derives
  them again from the hourly rollups: the hour rows of each hour redone from that hour's
  `analytics_hourly` rows, then the day rows of each day touched from its hour rows:
  `rederive_hours`. Both are sums of the same records, so they agree exactly with the hourly
  rollups.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, delete, select

from domains.billing import histogram
from infrastructure.db.tables import analytics_hourly
from infrastructure.db.tables.analytics import (
    DIMENSIONS,
    HISTOGRAMS,
    NARROW,
    NARROW_TABLES,
    SUMS,
)
from infrastructure.db.upsert import insert_for

Key = tuple[str, ...]
_TAG = DIMENSIONS.index("tag")
_INDEX = {name: DIMENSIONS.index(name) for name in DIMENSIONS}
_MEASURES = (*SUMS, *HISTOGRAMS)
_FLOATS = tuple(name.endswith("_ms") for name in SUMS)


class _Acc:
    """A narrow row's measures being summed (histograms as bucket counts)."""

    __slots__ = ("latency", "sums", "ttft")

    def __init__(self) -> None:
        self.sums: list[float] = [0] * len(SUMS)
        self.latency: histogram.Counts = {}
        self.ttft: histogram.Counts = {}

    def add(self, sums: Sequence[float], latency: histogram.Counts, ttft: histogram.Counts) -> None:
        mine = self.sums
        for i, value in enumerate(sums):
            mine[i] += value
        for counts, more in ((self.latency, latency), (self.ttft, ttft)):
            for index, count in more.items():
                counts[index] = counts.get(index, 0) + count

    def values(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            name: (float(v) if floating else int(v))
            for name, v, floating in zip(SUMS, self.sums, _FLOATS, strict=True)
        }
        found["latency_hist"] = histogram.encode(self.latency)
        found["ttft_hist"] = histogram.encode(self.ttft)
        return found


def _tagged(dims: tuple[str, ...]) -> bool:
    return "tag" in dims


def _project(
    rows: Iterable[tuple[Key, Sequence[float], histogram.Counts, histogram.Counts]],
    *,
    hours: bool = True,
    days: bool = True,
) -> dict[str, dict[Key, _Acc]]:
    """Per narrow rollup, its rows ((grain, period, *dims) → measures) that the hourly rollup
    rows `rows` (key in `DIMENSIONS` order, sums, histograms) add up to."""
    found: dict[str, dict[Key, _Acc]] = {name: {} for name in NARROW}
    plans = [
        (found[name], [_INDEX[dim] for dim in dims], _tagged(dims)) for name, dims in NARROW.items()
    ]
    for key, sums, latency, ttft in rows:
        tagged = key[_TAG] != ""
        hour = key[0]
        for into, where, wants_tag in plans:
            if tagged != wants_tag:
                continue
            dims = tuple(key[i] for i in where)
            if hours:
                into.setdefault(("hour", hour, *dims), _Acc()).add(sums, latency, ttft)
            if days:
                into.setdefault(("day", hour[:10], *dims), _Acc()).add(sums, latency, ttft)
    return found


def _merge(conn: Connection, table: Table, rows: dict[Key, _Acc]) -> None:
    """Adds `rows` to the rows of `table` already there, with one upsert."""
    if not rows:
        return
    c = table.c
    dims = [column.name for column in table.primary_key.columns]
    periods = sorted({key[1] for key in rows})
    orgs = sorted({key[2] for key in rows})  # org_id follows grain and period in every key
    existing = conn.execute(select(table).where(c.period.in_(periods), c.org_id.in_(orgs)))
    for row in existing:
        key = tuple(getattr(row, name) for name in dims)
        total = rows.get(key)
        if total is not None:
            total.add(
                [getattr(row, name) for name in SUMS],
                histogram.decode(row.latency_hist),
                histogram.decode(row.ttft_hist),
            )
    upsert = insert_for(conn.dialect, table)
    conn.execute(
        upsert.on_conflict_do_update(
            index_elements=dims, set_={name: upsert.excluded[name] for name in _MEASURES}
        ),
        [
            {**dict(zip(dims, key, strict=True)), **total.values()}
            for key, total in sorted(rows.items())
        ],
    )


def merge_into_daily(conn: Connection, sums: dict[Key, Any]) -> None:
    """Adds one fold batch's sums (`analytics_fold.Measures` per `analytics_hourly` key) to
    the narrow rollups, at both grains. `sums` is left as it is: call it before
    `merge_into_rollups`, which adds the hourly rows already there into them."""
    if not sums:
        return
    projected = _project(
        (key, measures.sums, measures.latency, measures.ttft) for key, measures in sums.items()
    )
    for name, rows in projected.items():
        _merge(conn, NARROW_TABLES[name], rows)


def _hourly_rows(
    conn: Connection, hours: Sequence[str]
) -> Iterable[tuple[Key, list[float], histogram.Counts, histogram.Counts]]:
    t = analytics_hourly.c
    for row in conn.execute(select(analytics_hourly).where(t.hour.in_(list(hours)))):
        yield (
            tuple(getattr(row, name) for name in DIMENSIONS),
            [getattr(row, name) for name in SUMS],
            histogram.decode(row.latency_hist),
            histogram.decode(row.ttft_hist),
        )


def _insert(conn: Connection, table: Table, rows: dict[Key, _Acc]) -> None:
    if not rows:
        return
    dims = [column.name for column in table.primary_key.columns]
    conn.execute(
        table.insert(),
        [
            {**dict(zip(dims, key, strict=True)), **total.values()}
            for key, total in sorted(rows.items())
        ],
    )


def rederive_hours(conn: Connection, hours: Sequence[str]) -> None:
    """Derives the narrow rollups of `hours` ("2026-12-07T20") again from `analytics_hourly`:
    each hour's hour rows from its hourly rollup rows, then the day rows of each day touched
    from that day's hour rows. For the reconciliation, after it folded `hours` anew (in its
    transaction); also makes the narrow rollups of hours folded before they existed."""
    hours = sorted(set(hours))
    if not hours:
        return
    for start in range(0, len(hours), 24):
        chunk = hours[start : start + 24]
        projected = _project(_hourly_rows(conn, chunk), days=False)
        for name, table in NARROW_TABLES.items():
            c = table.c
            conn.execute(delete(table).where(c.grain == "hour", c.period.in_(chunk)))
            _insert(conn, table, projected[name])
    days = sorted({hour[:10] for hour in hours})
    for name, table in NARROW_TABLES.items():
        c = table.c
        dims = NARROW[name]
        for day in days:
            rows = conn.execute(
                select(table).where(
                    c.grain == "hour", c.period >= f"{day}T00", c.period <= f"{day}T23"
                )
            )
            found: dict[Key, _Acc] = {}
            for row in rows:
                found.setdefault(("day", day, *(getattr(row, d) for d in dims)), _Acc()).add(
                    [getattr(row, s) for s in SUMS],
                    histogram.decode(row.latency_hist),
                    histogram.decode(row.ttft_hist),
                )
            conn.execute(delete(table).where(c.grain == "day", c.period == day))
            _insert(conn, table, found)


def hours_folded(conn: Connection) -> list[str]:
    """Every hour of `analytics_hourly` (for `rederive_hours` over the whole history)."""
    t = analytics_hourly.c
    return list(conn.execute(select(t.hour).distinct().order_by(t.hour)).scalars())


__all__ = ["hours_folded", "merge_into_daily", "rederive_hours"]
