"""The analytics answers computed from the rollups: forecasts and substitution advice (the
routes only read the parameters and check the scope)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from application.billing.price_queries import price_list
from domains.billing import forecast
from domains.billing.budget import Scope
from domains.billing.substitution import substitutes
from domains.providers.model import Catalog
from domains.shared.money import from_picodollars, usd_text
from domains.shared.usage import Usage
from infrastructure.queries.analytics import (
    daily_spend,
    model_traffic,
    spend_since,
    team_allow_lists,
)
from infrastructure.queries.limits import admin_prices, budget_caps_of, limits_of
from infrastructure.settings import Settings
from interfaces.billing_wiring import config_prices

SCOPE_COLUMN = {"org": "org_id", "team": "team_id", "key": "key_id"}


def _usd(pico: int) -> str:
    return usd_text(from_picodollars(pico))


def period_bounds(period: str, today: date) -> tuple[date | None, date | None]:
    if period == "day":
        return today, today
    if period == "month":
        last = calendar.monthrange(today.year, today.month)[1]
        return today.replace(day=1), today.replace(day=last)
    return None, None  # total: since the beginning, no end


async def forecast_answer(
    engine: AsyncEngine, scope: Scope, scope_id: str, *, today: date, weeks: int
) -> dict[str, Any]:
    column = SCOPE_COLUMN[scope]
    first = today - timedelta(days=7 * weeks)
    spend = await daily_spend(engine, column, scope_id, first, today)
    history = [from_picodollars(spend.get(first + timedelta(days=i), 0)) for i in range(7 * weeks)]
    model = forecast.fit(first, [float(d) for d in history])
    budgets, _ = await limits_of(engine, scope, scope_id)
    limits: list[tuple[str, str, int | None]] = [
        (b.period, "budget", b.max_picousd) for b in budgets if b.max_picousd is not None
    ]
    if scope == "org":
        caps = await budget_caps_of(engine, scope_id)
        limits += [(c.period, "cap", c.max_picousd) for c in caps if c.max_picousd is not None]
    if not any(period == "month" for period, _, _ in limits):
        limits.append(("month", "none", None))
    spent_today = from_picodollars(spend.get(today, 0))
    answers = []
    for period, source, limit in sorted(limits, key=lambda item: (item[0], item[1])):
        start, last = period_bounds(period, today)
        spent = from_picodollars(await spend_since(engine, column, scope_id, start))
        result = forecast.project(
            model,
            today=today,
            spent=spent,
            spent_today=spent_today,
            last_day=last,
            limit=from_picodollars(limit) if limit is not None else None,
        )
        answers.append(
            {
                "period": period,
                "source": source,
                "limit_usd": _usd(limit) if limit is not None else None,
                "period_start": start.isoformat() if start else None,
                "period_end": last.isoformat() if last else None,
                "spent_usd": usd_text(result.spent),
                "projected_usd": usd_text(result.projected),
                "runs_out_on": result.runs_out_on.isoformat() if result.runs_out_on else None,
            }
        )
    return {
        "scope": scope,
        "scope_id": scope_id,
        "today": today.isoformat(),
        "weeks": weeks,
        "model": {
            "first_day": first.isoformat(),
            "intercept_usd": round(model.intercept, 6),
            "slope_usd_per_day": round(model.slope, 6),
            "weekday_usd": [round(w, 6) for w in model.weekday],
        },
        "budgets": answers,
    }


def _quality(settings: Settings) -> Any:
    scores = settings.routing.quality

    def quality(name: tuple[str, str]) -> float:
        return float(scores.get(f"{name[0]}/{name[1]}", scores.get(name[1], 0.5)))

    return quality


async def advice_answer(
    engine: AsyncEngine,
    settings: Settings,
    catalog: Catalog,
    *,
    org_id: str | None,
    team_id: str | None,
    today: date,
    days: int,
    tolerance: float,
) -> dict[str, Any]:
    since = today - timedelta(days=days)
    traffic = await model_traffic(
        engine, org_id=org_id, team_id=team_id, since=f"{since.isoformat()}T00"
    )
    never = set(settings.routing.never_virtual)
    models = [(route.provider, route.name) for route in catalog.routes()]
    listed = price_list(models, config_prices(settings), await admin_prices(engine))
    priced = [
        ((p.provider, p.model), p.price)
        for p in listed
        if p.price is not None
        and p.model != "*"
        and "embed" not in p.model
        and p.model not in never
        and f"{p.provider}/{p.model}" not in never
    ]
    quality = _quality(settings)
    allowed = await team_allow_lists(engine, [used.team_id for used in traffic])
    rows = []
    for used in traffic:
        may = allowed.get(used.team_id)
        usable = (
            priced
            if may is None
            else [(n, p) for n, p in priced if n[1] in may or f"{n[0]}/{n[1]}" in may]
        )
        usage = Usage(
            input_tokens=used.prompt_tokens,
            output_tokens=used.completion_tokens,
            cached_tokens=used.cached_tokens,
            cache_write_5m_tokens=used.cache_write_tokens,
            reasoning_tokens=used.reasoning_tokens,
        )
        charged = from_picodollars(used.cost_picousd)
        found = substitutes(
            (used.provider, used.model),
            usage,
            charged,
            priced=usable,
            quality=quality,
            tolerance=tolerance,
        )
        rows.append(
            {
                "org_id": used.org_id,
                "team_id": used.team_id,
                "provider": used.provider,
                "model": used.model,
                "quality": quality((used.provider, used.model)),
                "requests": used.requests,
                "prompt_tokens": used.prompt_tokens,
                "cached_tokens": used.cached_tokens,
                "cache_write_tokens": used.cache_write_tokens,
                "completion_tokens": used.completion_tokens,
                "reasoning_tokens": used.reasoning_tokens,
                "cost_usd": usd_text(charged),
                "candidates": [
                    {
                        "provider": c.provider,
                        "model": c.model,
                        "quality": c.quality,
                        "cost_usd": usd_text(c.cost),
                        "saving_usd": usd_text(c.saving),
                    }
                    for c in found
                ],
            }
        )
    return {
        "since": since.isoformat(),
        "days": days,
        "tolerance": tolerance,
        "rows": rows,
    }
