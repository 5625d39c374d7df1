"""The periodic budget forecast check, run by the analytics summaries job: each USD budget of
an org, team or key is projected to its window's end from the hourly rollups (as
`GET /admin/v1/analytics/forecast` does), and a budget whose projection reaches its limit gets a
`BudgetForecastExceeded` written to the outbox, undispatched: the outbox relay hands it to the
audit log and the alerts' workers. Its id is the budget's and window's
(`domains.billing.forecast_alerts`), and the outbox holds an id once, so the check raises it once
per window however often it runs, on however many workers."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine, func, select

from domains.billing import forecast
from domains.billing.budget import Period, Scope
from domains.billing.events import BudgetForecastExceeded
from domains.billing.forecast_alerts import ForecastBudget, forecast_exceeded
from domains.shared.money import from_picodollars
from infrastructure.db import outbox
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.tables import analytics_hourly, budgets, teams, virtual_keys

HISTORY_WEEKS = 4
"""Whole weeks of daily spend the trend is fitted on (the forecast route's default)."""

_COLUMN = {"org": "org_id", "team": "team_id", "key": "key_id"}


def period_bounds(period: Period, today: date) -> tuple[date | None, date | None]:
    """The first and last day of the window `today` is in (None: a total budget's)."""
    if period == "day":
        return today, today
    if period == "month":
        return today.replace(day=1), today.replace(
            day=calendar.monthrange(today.year, today.month)[1]
        )
    return None, None


class BudgetForecasts:
    def __init__(self, engine: Engine, codec: EventCodec) -> None:
        self._engine = engine
        self._codec = codec

    def run(self, now: datetime) -> list[BudgetForecastExceeded]:
        """Checks every USD budget; the alerts this run wrote (not those written before)."""
        raised: list[BudgetForecastExceeded] = []
        with self._engine.connect() as conn:
            for budget in _usd_budgets(conn):
                event = _check(conn, budget, now)
                if event is not None:
                    raised.append(event)
        return [event for event in raised if self._write(event)]

    def _write(self, event: BudgetForecastExceeded) -> bool:
        with self._engine.begin() as conn:
            return outbox.write_once(conn, self._codec, event)


def _usd_budgets(conn: Connection) -> list[ForecastBudget]:
    """The USD budgets of orgs, teams and keys (not people's: the rollups keep no user's org),
    with their org."""
    b = budgets.c
    org = func.coalesce(teams.c.org_id, virtual_keys.c.org_id, b.scope_id)
    query = (
        select(b.scope, b.scope_id, b.period, b.max_usd, org.label("org_id"))
        .select_from(
            budgets.outerjoin(teams, (b.scope == "team") & (teams.c.id == b.scope_id)).outerjoin(
                virtual_keys, (b.scope == "key") & (virtual_keys.c.id == b.scope_id)
            )
        )
        .where(b.max_usd.is_not(None), b.scope.in_(tuple(_COLUMN)))
        .order_by(b.scope, b.scope_id, b.period)
    )
    return [
        ForecastBudget(row.scope, row.scope_id, row.org_id, row.period, row.max_usd)
        for row in conn.execute(query)
    ]


def _check(
    conn: Connection, budget: ForecastBudget, now: datetime
) -> BudgetForecastExceeded | None:
    scope: Scope = budget.scope
    column = analytics_hourly.c[_COLUMN[scope]]
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=7 * HISTORY_WEEKS)
    t = analytics_hourly.c
    day = func.substr(t.hour, 1, 10)
    daily = {
        date.fromisoformat(row.day): int(row.cost or 0)
        for row in conn.execute(
            select(day.label("day"), func.sum(t.cost_picousd).label("cost"))
            .where(
                column == budget.scope_id,
                t.tag == "",
                t.hour >= first.isoformat(),
                t.hour < (today + timedelta(days=1)).isoformat(),
            )
            .group_by(day)
        )
    }
    history = [
        float(from_picodollars(daily.get(first + timedelta(days=i), 0)))
        for i in range(7 * HISTORY_WEEKS)
    ]
    start, last = period_bounds(budget.period, today)
    conditions = [column == budget.scope_id, t.tag == ""]
    if start is not None:
        conditions.append(t.hour >= start.isoformat())
    spent = conn.execute(select(func.sum(t.cost_picousd)).where(*conditions)).scalar()
    result = forecast.project(
        forecast.fit(first, history),
        today=today,
        spent=from_picodollars(int(spent or 0)),
        spent_today=from_picodollars(daily.get(today, 0)),
        last_day=last,
        limit=budget.limit_usd,
    )
    return forecast_exceeded(budget, result, now)
