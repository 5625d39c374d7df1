"""The spend forecast: a least-squares trend plus weekday effects over daily spend, projected
to a period's end and to the day a budget runs out (docs/analytics.md), on hand-computed
series."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from domains.billing.forecast import fit, project

MONDAY = date(2026, 11, 16)
WEEK = [1.0, 2.0, 3.0, 10.0, 3.0, 2.0, 1.0]  # Monday to Sunday: symmetric, so no trend


def test_a_straight_line_is_its_own_trend_with_no_weekday_effect() -> None:
    model = fit(MONDAY, [2.0 * t for t in range(1, 29)])
    assert model.intercept == pytest.approx(0.0, abs=1e-9)
    assert model.slope == pytest.approx(2.0)
    assert model.weekday == pytest.approx((0.0,) * 7, abs=1e-9)
    assert model.day(MONDAY + timedelta(days=28)) == pytest.approx(58.0)  # t = 29


def test_two_weeks_of_a_weekly_pattern_give_back_the_pattern() -> None:
    model = fit(MONDAY, WEEK * 2)
    # mean 22/7, slope 0 (the series is symmetric about its middle), effects = pattern - mean
    assert model.slope == pytest.approx(0.0, abs=1e-9)
    assert model.intercept == pytest.approx(22 / 7)
    for offset, expected in enumerate(WEEK):
        assert model.day(date(2026, 11, 30) + timedelta(days=offset)) == pytest.approx(expected)


def test_less_than_a_week_has_no_weekday_effect_and_one_day_no_trend() -> None:
    assert fit(MONDAY, [5.0]).day(MONDAY + timedelta(days=10)) == 5.0
    assert fit(MONDAY, [1.0, 2.0, 3.0]).weekday == (0.0,) * 7
    assert fit(MONDAY, []).day(MONDAY) == 0.0


def test_december_projected_from_the_pattern_and_the_day_it_runs_out() -> None:
    model = fit(MONDAY, WEEK * 2)
    # December 2026 starts on a Tuesday: four whole weeks (4 x 22) and Tue, Wed, Thu (2+3+10)
    found = project(
        model,
        today=date(2026, 12, 1),
        spent=Decimal(0),
        spent_today=Decimal(0),
        last_day=date(2026, 12, 31),
        limit=Decimal(50),
    )
    assert found.projected == Decimal("103.000000")
    # cumulative: 22 on Mon 7th, 44 on the 14th, 46, 49, then Thursday's 10: 59 on the 17th
    assert found.runs_out_on == date(2026, 12, 17)


def test_spend_above_todays_forecast_counts_as_it_is() -> None:
    model = fit(MONDAY, WEEK * 2)
    found = project(
        model,
        today=date(2026, 12, 1),
        spent=Decimal(4),
        spent_today=Decimal(4),  # Tuesday's forecast is 2: nothing more today
        last_day=date(2026, 12, 31),
        limit=Decimal(50),
    )
    assert found.projected == Decimal("105.000000")  # 4 + (103 - 2)
    assert found.runs_out_on == date(2026, 12, 16)  # 4, 7, 17, 20, 22, 23, 24, 26, ... 51


def test_a_budget_already_spent_ran_out_today_and_none_without_a_limit() -> None:
    model = fit(MONDAY, [1.0] * 28)
    spent = project(
        model,
        today=date(2026, 12, 1),
        spent=Decimal(10),
        spent_today=Decimal(0),
        last_day=date(2026, 12, 1),
        limit=Decimal(10),
    )
    assert spent.runs_out_on == date(2026, 12, 1)
    open_ended = project(
        model,
        today=date(2026, 12, 1),
        spent=Decimal(0),
        spent_today=Decimal(0),
        last_day=date(2026, 12, 3),
        limit=None,
    )
    assert open_ended.projected == Decimal("3.000000")
    assert open_ended.runs_out_on is None
