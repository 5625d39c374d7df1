"""What a budget scope has spent in a window, summed from the usage ledger (usage_records).

Exact to the picodollar: it is also what rebuilds the budget counters after Redis loses them.
Each cost is summed in two parts (whole micro-dollars and the picodollars under them), so the
sums stay exact on SQLite too, whose 64-bit SUM would overflow past about $9.2M.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.billing.budget import Amount, Period, Scope, window
from infrastructure.db.tables import usage_records

_SPLIT = 1_000_000  # picodollars per micro-dollar

_SCOPE_COLUMNS = {
    "org": usage_records.c.org_id,
    "team": usage_records.c.team_id,
    "user": usage_records.c.user_id,
    "key": usage_records.c.key_id,
}


def window_bounds(period: Period, now: datetime) -> tuple[datetime, datetime] | None:
    """[start, end) in UTC of the calendar window `now` falls in; None for "total" (all time)."""
    window(period, now)  # the same checks: a timezone-aware `now`, a known period
    utc = now.astimezone(UTC)
    if period == "total":
        return None
    if period == "day":
        start = utc.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    start = utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start, start.replace(year=year, month=month)


async def spent_in_window(
    engine: AsyncEngine, scope: Scope, scope_id: str, period: Period, now: datetime
) -> Amount:
    """The cost (picodollars) and tokens (input + output) recorded for the scope in the UTC
    calendar window of `period` that `now` falls in; "total" is all time."""
    return (await spent_in_windows(engine, scope, scope_id, (period,), now))[period]


async def spent_in_windows(
    engine: AsyncEngine, scope: Scope, scope_id: str, periods: Sequence[Period], now: datetime
) -> dict[Period, Amount]:
    """`spent_in_window` for several periods at once, in one statement: the windows agree with
    each other (a day never shows usage its month has not counted yet)."""
    windows = {period: window_bounds(period, now) for period in periods}
    if not windows:
        return {}
    conditions: list[ColumnElement[bool]] = [_SCOPE_COLUMNS[scope] == scope_id]
    bounds = list(windows.values())
    if bounds and all(bound is not None for bound in bounds):  # no "total": read only the windows
        conditions += [
            usage_records.c.ts >= min(bound[0] for bound in bounds if bound is not None),
            usage_records.c.ts < max(bound[1] for bound in bounds if bound is not None),
        ]
    sums = [_sums(bound) for bound in windows.values()]
    query = select(*(column for columns in sums for column in columns)).where(*conditions)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).one()
    spent: dict[Period, Amount] = {}
    for i, period in enumerate(windows):
        micros, picos, input_tokens, output_tokens = (
            int(value) for value in row[4 * i : 4 * i + 4]
        )
        spent[period] = Amount(micros * _SPLIT + picos, input_tokens + output_tokens)
    return spent


def _sums(bounds: tuple[datetime, datetime] | None) -> list[ColumnElement[Any]]:
    """Whole micro-dollars, the picodollars under them, input and output tokens, in `bounds`."""
    cost = usage_records.c.cost_picousd
    values: list[ColumnElement[Any]] = [
        cost // _SPLIT,
        cost % _SPLIT,
        usage_records.c.input_tokens,
        usage_records.c.output_tokens,
    ]
    if bounds is not None:
        inside = and_(usage_records.c.ts >= bounds[0], usage_records.c.ts < bounds[1])
        values = [case((inside, value), else_=0) for value in values]
    return [func.coalesce(func.sum(value), 0) for value in values]
