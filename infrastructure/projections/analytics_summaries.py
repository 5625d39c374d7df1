"""Daily and monthly summaries per org and team, computed from the hourly rollups by a periodic
job into `analytics_summaries` (never from the request log).

A summary of a period (a UTC day, a UTC month) for an org (`team_id` "") or a team holds its
requests, errors, spend, the spend of the period before, the p95 latency (merged histograms)
and its five models of most spend. Each run recomputes the current and the previous day and
month, so a period's summary is final once the fold has passed its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

import msgspec
from sqlalchemy import Connection, Engine, select

from domains.billing import histogram
from domains.shared.money import from_picodollars, usd_text
from infrastructure.db.tables import analytics_hourly, analytics_summaries
from infrastructure.db.upsert import insert_for

SummaryPeriod = Literal["day", "month"]
TOP_MODELS = 5


def period_start(period: SummaryPeriod, day: date) -> str:
    return day.isoformat() if period == "day" else day.isoformat()[:7]


def previous_start(period: SummaryPeriod, start: str) -> str:
    if period == "day":
        return (date.fromisoformat(start) - timedelta(days=1)).isoformat()
    first = date.fromisoformat(start + "-01")
    return (first - timedelta(days=1)).isoformat()[:7]


@dataclass
class _Totals:
    requests: int = 0
    errors: int = 0
    cost: int = 0
    latency: histogram.Counts = field(default_factory=dict)
    models: dict[str, list[int]] = field(default_factory=dict)  # model: [requests, cost]


def _totals(conn: Connection, start: str) -> dict[tuple[str, str], _Totals]:
    """(org, "") and (org, team) totals of the hours whose text starts with `start`."""
    low, high = start, start + "\x7f"
    rows = conn.execute(
        select(
            analytics_hourly.c.org_id,
            analytics_hourly.c.team_id,
            analytics_hourly.c.model,
            analytics_hourly.c.requests,
            analytics_hourly.c.errors,
            analytics_hourly.c.cost_picousd,
            analytics_hourly.c.latency_hist,
        ).where(
            analytics_hourly.c.tag == "",
            analytics_hourly.c.hour >= low,
            analytics_hourly.c.hour < high,
        )
    )
    found: dict[tuple[str, str], _Totals] = {}
    for row in rows:
        hist = histogram.decode(row.latency_hist)
        for key in ((row.org_id, ""), (row.org_id, row.team_id)):
            t = found.setdefault(key, _Totals())
            t.requests += row.requests
            t.errors += row.errors
            t.cost += row.cost_picousd
            t.latency = histogram.merge((t.latency, hist))
            model = t.models.setdefault(row.model, [0, 0])
            model[0] += row.requests
            model[1] += row.cost_picousd
    return found


def summarize(conn: Connection, period: SummaryPeriod, start: str, now: datetime) -> int:
    """Writes the summaries of one period; how many."""
    current = _totals(conn, start)
    before = _totals(conn, previous_start(period, start))
    rows = []
    for (org_id, team_id), t in sorted(current.items()):
        top = sorted(t.models.items(), key=lambda item: (-item[1][1], -item[1][0], item[0]))
        rows.append(
            {
                "period": period,
                "start": start,
                "org_id": org_id,
                "team_id": team_id,
                "requests": t.requests,
                "errors": t.errors,
                "cost_picousd": t.cost,
                "previous_cost_picousd": before[(org_id, team_id)].cost
                if (org_id, team_id) in before
                else 0,
                "p95_latency_ms": histogram.percentile(t.latency, 0.95),
                "top_models": msgspec.json.encode(
                    [
                        {
                            "model": model,
                            "requests": n,
                            "cost_usd": usd_text(from_picodollars(cost)),
                        }
                        for model, (n, cost) in top[:TOP_MODELS]
                    ]
                ).decode(),
                "computed_at": now,
                "version": 1,
            }
        )
    if rows:
        upsert = insert_for(conn.dialect, analytics_summaries)
        keys = ("period", "start", "org_id", "team_id")
        conn.execute(
            upsert.on_conflict_do_update(
                index_elements=list(keys),
                set_={
                    c.name: upsert.excluded[c.name]
                    for c in analytics_summaries.columns
                    if c.name not in keys
                },
            ),
            rows,
        )
    return len(rows)


class Summarizer:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def run(self, now: datetime) -> int:
        """The summaries of today and yesterday, this month and the month before."""
        today = now.date()
        yesterday = today - timedelta(days=1)
        starts: list[tuple[SummaryPeriod, str]] = [
            ("day", period_start("day", yesterday)),
            ("day", period_start("day", today)),
            ("month", previous_start("month", period_start("month", today))),
            ("month", period_start("month", today)),
        ]
        total = 0
        with self._engine.connect() as conn:
            conn.execution_options(fluxrouter_writes=True)
            with conn.begin():
                for period, start in starts:
                    total += summarize(conn, period, start, now)
        return total
