"""Spend forecasts: a linear trend plus a day-of-week seasonality, fitted on daily spend.

Given the spend `d_1 … d_n` of the `n` whole UTC days before today (oldest first, days without
spend as 0):

- trend: the least-squares line `T(t) = a + b·t` through `(t, d_t)` (`b = 0` when `n < 2`);
- seasonality: for each weekday `w`, `S_w` = the mean of the residuals `d_t − T(t)` of the days
  that fall on `w` (all 0 when `n < 7`: fewer than a week says nothing of weekdays);
- a future day `t` (today is `n + 1`) is forecast `F(t) = max(0, T(t) + S_weekday(t))`.

Today's spend so far counts as it is, plus `max(0, F(today) − spent today)` still to come.
The projection at the period's end adds `F(t)` of each day left in it. The budget runs out on
the first day whose projected cumulative spend reaches its limit (today if it already has);
never when that does not happen before the period ends (a lifetime budget: within a year).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

HORIZON_DAYS = 366
"""How far a budget without a period end is projected."""


@dataclass(frozen=True)
class DailyModel:
    """The fitted trend and the weekday effects (index: `date.weekday()`, Monday 0)."""

    first_day: date  # the day t = 1
    intercept: float
    slope: float
    weekday: tuple[float, ...]

    def day(self, day: date) -> float:
        t = (day - self.first_day).days + 1
        return max(0.0, self.intercept + self.slope * t + self.weekday[day.weekday()])


def fit(first_day: date, daily: Sequence[float]) -> DailyModel:
    n = len(daily)
    if n == 0:
        return DailyModel(first_day, 0.0, 0.0, (0.0,) * 7)
    ts = range(1, n + 1)
    if n < 2:
        a, b = daily[0], 0.0
    else:
        mean_t = (n + 1) / 2
        mean_d = sum(daily) / n
        spread = sum((t - mean_t) ** 2 for t in ts)
        b = sum((t - mean_t) * (d - mean_d) for t, d in zip(ts, daily, strict=True)) / spread
        a = mean_d - b * mean_t
    effects = [0.0] * 7
    if n >= 7:
        sums, counts = [0.0] * 7, [0] * 7
        for t, d in zip(ts, daily, strict=True):
            w = (first_day + timedelta(days=t - 1)).weekday()
            sums[w] += d - (a + b * t)
            counts[w] += 1
        effects = [s / c if c else 0.0 for s, c in zip(sums, counts, strict=True)]
    return DailyModel(first_day, a, b, tuple(effects))


@dataclass(frozen=True)
class Forecast:
    spent: Decimal
    """spend in the period so far (today's included)"""
    projected: Decimal
    """spend projected at the period's end (None-ended periods: within `HORIZON_DAYS`)"""
    runs_out_on: date | None
    """the day the projected spend reaches the limit; None if it does not in the period"""


def project(
    model: DailyModel,
    *,
    today: date,
    spent: Decimal,
    spent_today: Decimal,
    last_day: date | None,
    limit: Decimal | None,
) -> Forecast:
    """`last_day`: the period's last day (None: no end); `limit` in USD (None: no limit)."""
    end = last_day if last_day is not None else today + timedelta(days=HORIZON_DAYS - 1)
    total = float(spent)
    runs_out: date | None = None
    if limit is not None and spent >= limit:
        runs_out = today
    total += max(0.0, model.day(today) - float(spent_today))
    if limit is not None and runs_out is None and total >= float(limit):
        runs_out = today
    day = today + timedelta(days=1)
    while day <= end:
        total += model.day(day)
        if limit is not None and runs_out is None and total >= float(limit):
            runs_out = day
        day += timedelta(days=1)
    return Forecast(spent, Decimal(total).quantize(Decimal("0.000001")), runs_out)
