"""When a budget's forecast becomes an alert: its projection at the window's end reaches the
limit; the alert's id is the budget window's, so it is raised once per window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from domains.billing.forecast import fit, project
from domains.billing.forecast_alerts import ForecastBudget, forecast_event_id, forecast_exceeded

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)  # a Thursday; December has 31 days
TODAY = NOW.date()
FIRST = TODAY - timedelta(days=28)


def _budget(limit: str, period: str = "month") -> ForecastBudget:
    return ForecastBudget("team", "team-1", "org-1", period, Decimal(limit))  # type: ignore[arg-type]


def _forecast(limit: str, *, per_day: float = 2.0, spent: str = "18", today: date = TODAY):
    # a flat 2 USD a day: 18 spent by the 9th, 2 today, 2 a day for the 21 days left: 62
    model = fit(FIRST, [per_day] * 28)
    last = date(today.year, today.month, 31)
    return project(
        model,
        today=today,
        spent=Decimal(spent),
        spent_today=Decimal(0),
        last_day=last,
        limit=Decimal(limit),
    )


def test_a_projection_reaching_the_limit_raises_the_alert_with_the_run_out_day() -> None:
    forecast = _forecast("50")
    event = forecast_exceeded(_budget("50"), forecast, NOW)
    assert event is not None
    assert (event.scope, event.scope_id, event.org_id, event.period) == (
        "team",
        "team-1",
        "org-1",
        "month",
    )
    assert event.window == "team:team-1:month:2026-12"
    assert (event.projected, event.limit) == ("62", "50")
    # 18 + 2 (today, the 10th) + 2 a day: 50 on the 25th
    assert event.runs_out_on == "2026-12-25"
    assert event.event_id == forecast_event_id("team:team-1:month:2026-12")
    assert len(event.event_id) == 32


def test_a_projection_under_the_limit_raises_nothing() -> None:
    assert forecast_exceeded(_budget("62.01"), _forecast("62.01"), NOW) is None


def test_a_projection_exactly_at_the_limit_raises_it() -> None:
    assert forecast_exceeded(_budget("62"), _forecast("62"), NOW) is not None


def test_the_same_window_gives_the_same_event_id_and_the_next_window_another() -> None:
    later_today = forecast_exceeded(_budget("50"), _forecast("50"), NOW + timedelta(hours=6))
    first = forecast_exceeded(_budget("50"), _forecast("50"), NOW)
    assert first is not None
    assert later_today is not None
    assert later_today.event_id == first.event_id  # once per window: the outbox holds it once
    january = datetime(2027, 1, 10, 12, tzinfo=UTC)
    next_month = forecast_exceeded(_budget("50"), _forecast("50", today=january.date()), january)
    assert next_month is not None
    assert next_month.window == "team:team-1:month:2027-01"
    assert next_month.event_id != first.event_id


def test_a_total_budget_has_one_window() -> None:
    budget = ForecastBudget("key", "key-1", "org-1", "total", Decimal("10"))
    forecast = project(
        fit(FIRST, [1.0] * 28),
        today=TODAY,
        spent=Decimal(5),
        spent_today=Decimal(0),
        last_day=None,
        limit=Decimal(10),
    )
    event = forecast_exceeded(budget, forecast, NOW)
    assert event is not None
    assert event.window == "key:key-1:total"
    assert event.runs_out_on == (TODAY + timedelta(days=4)).isoformat()  # 5 + 1 today + 4 days
