"""When a budget's forecast becomes an alert: the spend projected at the end of the budget's
current window reaches its USD limit. Raised once per budget and window: the event's id is made
from the budget and the window alone, so a second check (a replay, another worker) makes the
same event, which the outbox holds once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from domains.billing.budget import Period, Scope, window
from domains.billing.events import BudgetForecastExceeded
from domains.billing.forecast import Forecast
from domains.shared.money import usd_text

_NAMESPACE = uuid.UUID("6f1d6c52-3b0e-4c2a-9d55-6a1e0c7b2f41")


@dataclass(frozen=True)
class ForecastBudget:
    """A USD budget the check projects (its org: the org's own id, the team's or key's org)."""

    scope: Scope
    scope_id: str
    org_id: str
    period: Period
    limit_usd: Decimal


def window_key(budget: ForecastBudget, now: datetime) -> str:
    """The budget window's id as thresholds name it: "team:<id>:month:2026-11", "key:<id>:total"."""
    if budget.period == "total":
        return f"{budget.scope}:{budget.scope_id}:total"
    return f"{budget.scope}:{budget.scope_id}:{budget.period}:{window(budget.period, now)}"


def forecast_event_id(window_id: str) -> str:
    """The one id the alert of a budget window ever has (32 hex characters)."""
    return uuid.uuid5(_NAMESPACE, f"budget.forecast:{window_id}").hex


def forecast_exceeded(
    budget: ForecastBudget, forecast: Forecast, now: datetime
) -> BudgetForecastExceeded | None:
    """The alert when the projected spend reaches the limit within the current window; None
    otherwise."""
    if budget.limit_usd <= 0 or forecast.runs_out_on is None:
        return None
    if forecast.projected < budget.limit_usd and forecast.spent < budget.limit_usd:
        return None
    current = window_key(budget, now.astimezone(UTC))
    return BudgetForecastExceeded(
        event_id=forecast_event_id(current),
        occurred_at=now,
        scope=budget.scope,
        scope_id=budget.scope_id,
        org_id=budget.org_id,
        period=budget.period,
        window=current,
        projected=usd_text(forecast.projected),
        limit=usd_text(budget.limit_usd),
        runs_out_on=forecast.runs_out_on.isoformat(),
    )
