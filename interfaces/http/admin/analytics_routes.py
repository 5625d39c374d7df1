"""Analytics through the admin API, read from the rollups (never the request log): totals
crossed by up to two dimensions per time bucket, budget forecasts, model substitution advice,
and the daily and monthly summaries.

Scoped as the request log is: the operator's admin key reads every org; an org's owners, admins
and viewers their org; a member the figures of their own keys only (the crossed totals narrowed
to their own records, the forecast of a key of theirs; advice and summaries, being a team's or
an org's, are a 403 for a member).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from litestar import Controller, get
from litestar.params import Parameter

from application.teams.access import (
    requests_listed,
    require_analytics_beyond_own_keys,
    require_forecast_of_key,
)
from domains.billing import histogram
from domains.shared.money import from_picodollars, usd_text
from infrastructure.queries.analytics import (
    DEFAULT_METRICS,
    GROUPABLE,
    METRICS,
    PERCENTILE_METRICS,
    AnalyticsFilter,
    Bucket,
    ceil_hour_text,
    crossed,
    hour_text,
    summaries,
)
from interfaces.http.admin.analytics_answers import advice_answer, forecast_answer
from interfaces.http.admin.guard import require_admin
from interfaces.http.dependencies import AppSettings, Caller, Engine, ModelCatalog, Visible
from interfaces.http.errors import ApiError
from interfaces.http.timestamps import parse_rfc3339

NO_NUL = r"^[^\x00]*$"
Id = Annotated[str | None, Parameter(min_length=1, max_length=64, pattern=NO_NUL)]
Name = Annotated[str | None, Parameter(min_length=1, max_length=200, pattern=NO_NUL)]
Moment = Annotated[str | None, Parameter(max_length=64)]
MAX_RANGE_HOURS = 24 * 400


def _names(text: str | None, allowed: tuple[str, ...], param: str, most: int) -> list[str]:
    if text is None or text == "":
        return []
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if name not in allowed:
            raise ApiError(
                400,
                f"`{param}` takes {', '.join(allowed)}: {name[:64]!r} is none of them.",
                code="invalid_parameter",
                param=param,
            )
    if len(set(names)) != len(names) or len(names) > most:
        raise ApiError(
            400,
            f"`{param}` names at most {most}, each once.",
            code="invalid_parameter",
            param=param,
        )
    return names


def _range(from_: str | None, to: str | None) -> tuple[datetime | None, datetime | None]:
    since = parse_rfc3339(from_, "from") if from_ is not None else None
    until = parse_rfc3339(to, "to") if to is not None else None
    if since is not None and until is not None and since > until:
        raise ApiError(400, "`from` is after `to`.", code="invalid_range")
    return since, until


class AnalyticsController(Controller):
    path = "/admin/v1/analytics"
    guards = [require_admin]
    tags = ["Admin: reports"]

    @get(
        "/",
        summary="Totals from the rollups, crossed by up to two dimensions, per time bucket",
        description="`by`: up to two of org_id, team_id, key_id, user_id, model, "
        "requested_model, provider, dialect, status_class, tier, tag. `bucket`: hour, day, "
        "month (or none: the whole range). `metrics`: a comma-separated choice. Hours are UTC; "
        "`from` is taken to its hour, `to` to the next whole hour.",
    )
    async def analytics(
        self,
        engine: Engine,
        principal: Caller,
        from_: Annotated[str | None, Parameter(query="from", max_length=64)] = None,
        to: Moment = None,
        by: Annotated[str | None, Parameter(max_length=200)] = None,
        bucket: Annotated[Literal["hour", "day", "month"] | None, Parameter()] = None,
        metrics_: Annotated[str | None, Parameter(query="metrics", max_length=1000)] = None,
        org_id: Id = None,
        team_id: Id = None,
        key_id: Id = None,
        user_id: Name = None,
        model: Name = None,
        requested_model: Name = None,
        provider: Name = None,
        dialect: Annotated[
            str | None,
            Parameter(pattern=r"^(chat|responses|messages|gemini|completions|embeddings|ws)$"),
        ] = None,
        status_class: Annotated[str | None, Parameter(pattern=r"^[0-9]xx$")] = None,
        tier: Annotated[str | None, Parameter(min_length=1, max_length=16, pattern=NO_NUL)] = None,
        tag: Annotated[str | None, Parameter(min_length=1, max_length=600, pattern=NO_NUL)] = None,
        limit: Annotated[int, Parameter(ge=1, le=10_000)] = 1000,
    ) -> dict[str, Any]:
        grouped = _names(by, GROUPABLE, "by", 2)
        chosen = _names(metrics_, METRICS, "metrics", len(METRICS)) or list(DEFAULT_METRICS)
        since, until = _range(from_, to)
        if (
            since is not None
            and until is not None
            and (until - since).total_seconds() > MAX_RANGE_HOURS * 3600
        ):
            raise ApiError(400, "The range is at most 400 days.", code="invalid_range", param="to")
        which = AnalyticsFilter(
            org_id=principal.listed_org(org_id),
            user_id=requests_listed(principal, user_id),
            team_id=team_id,
            key_id=key_id,
            model=model,
            requested_model=requested_model,
            provider=provider,
            dialect=dialect,
            status_class=status_class,
            tier=tier,
            tag=tag,
            since=hour_text(since.astimezone(UTC)) if since else None,
            until=ceil_hour_text(until.astimezone(UTC)) if until else None,
        )
        bucketed: Bucket | None = bucket
        groups = await crossed(
            engine,
            which,
            by=grouped,
            bucket=bucketed,
            limit=limit,
            histograms=bool(PERCENTILE_METRICS.intersection(chosen)),
        )
        rows = []
        for group in groups:
            row: dict[str, Any] = {"bucket": group.bucket or None}
            row.update(zip(grouped, group.keys, strict=True))
            row.update((name, group.totals.metric(name)) for name in chosen)
            rows.append(row)
        return {
            "bucket": bucket,
            "by": grouped,
            "metrics": chosen,
            "rows": rows,
            "percentile_relative_error": round(histogram.RELATIVE_ERROR, 4),
        }

    @get("/forecast", summary="Spend to date, projected spend and run-out date of budgets")
    async def forecast(
        self,
        engine: Engine,
        principal: Caller,
        visible: Visible,
        scope_: Annotated[
            Literal["org", "team", "key"], Parameter(query="scope", description="org, team, key")
        ],
        scope_id: Annotated[str, Parameter(min_length=1, max_length=64, pattern=NO_NUL)],
        weeks: Annotated[int, Parameter(ge=1, le=12)] = 4,
    ) -> dict[str, Any]:
        scope = scope_
        if scope == "org":
            require_analytics_beyond_own_keys(principal, "an org's")
            await visible.org(scope_id)
        elif scope == "team":
            require_analytics_beyond_own_keys(principal, "a team's")
            await visible.team(scope_id)
        else:
            key = await visible.key(scope_id)
            require_forecast_of_key(principal, key.user_id)
        today = datetime.now(UTC).date()
        return await forecast_answer(engine, scope, scope_id, today=today, weeks=weeks)

    @get(
        "/advice",
        summary="Cheaper models of similar quality for each team's traffic, re-priced",
    )
    async def advice(
        self,
        engine: Engine,
        principal: Caller,
        visible: Visible,
        settings: AppSettings,
        catalog: ModelCatalog,
        org_id: Id = None,
        team_id: Id = None,
        days: Annotated[int, Parameter(ge=1, le=90)] = 30,
        tolerance: Annotated[float, Parameter(ge=0, le=1)] = 0.05,
    ) -> dict[str, Any]:
        require_analytics_beyond_own_keys(principal, "a team's advice")
        org = principal.listed_org(org_id)
        if team_id is not None:
            team = await visible.team(team_id)
            if org is not None and team.org_id != org:
                raise ApiError(404, "No such team.", code="not_found")
        today = datetime.now(UTC).date()
        return await advice_answer(
            engine,
            settings,
            catalog,
            org_id=org,
            team_id=team_id,
            today=today,
            days=days,
            tolerance=tolerance,
        )

    @get("/summaries", summary="Daily or monthly summaries of an org, or of its teams")
    async def summaries(
        self,
        engine: Engine,
        principal: Caller,
        visible: Visible,
        period: Literal["day", "month"] = "day",
        org_id: Id = None,
        team_id: Id = None,
        from_: Annotated[
            str | None, Parameter(query="from", pattern=r"^\d{4}-\d{2}(-\d{2})?$")
        ] = None,
        to: Annotated[str | None, Parameter(pattern=r"^\d{4}-\d{2}(-\d{2})?$")] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        require_analytics_beyond_own_keys(principal, "an org's or a team's summaries")
        org = principal.listed_org(org_id)
        if team_id is not None:
            team = await visible.team(team_id)
            org = team.org_id
        found = await summaries(
            engine, period=period, org_id=org, team_id=team_id, since=from_, until=to, limit=limit
        )
        return {
            "period": period,
            "rows": [
                {
                    "period": s.period,
                    "start": s.start,
                    "org_id": s.org_id,
                    "team_id": s.team_id,
                    "requests": s.requests,
                    "errors": s.errors,
                    "error_rate": s.errors / s.requests if s.requests else None,
                    "cost_usd": usd_text(from_picodollars(s.cost_picousd)),
                    "previous_cost_usd": usd_text(from_picodollars(s.previous_cost_picousd)),
                    "change_usd": usd_text(
                        from_picodollars(s.cost_picousd - s.previous_cost_picousd)
                    ),
                    "change_ratio": (s.cost_picousd - s.previous_cost_picousd)
                    / s.previous_cost_picousd
                    if s.previous_cost_picousd
                    else None,
                    "p95_latency_ms": s.p95_latency_ms,
                    "top_models": s.top_models,
                    "computed_at": s.computed_at.isoformat().replace("+00:00", "Z"),
                }
                for s in found
            ],
        }
