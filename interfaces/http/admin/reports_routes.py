"""Usage, read from the read models. Scoped: a person sees their own org's only."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get
from litestar.params import Parameter

from infrastructure.read_models.usage_query import usage_by
from interfaces.http.admin.guard import require_admin
from interfaces.http.dependencies import Caller, Engine
from interfaces.http.errors import ApiError

NO_NUL = r"^[^\x00]*$"

GroupBy = Literal["org", "team", "user", "key", "model", "provider", "day"]


class UsageOut(msgspec.Struct):
    group_by: str
    rows: list[dict[str, Any]]


class ReportsController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: reports"]

    @get("/usage", summary="Requests, tokens and cost, grouped")
    async def usage(
        self,
        engine: Engine,
        principal: Caller,
        group_by: GroupBy = "model",
        from_: Annotated[date | None, Parameter(query="from")] = None,
        to: date | None = None,
        org_id: Annotated[str, Parameter(min_length=1, max_length=64, pattern=NO_NUL)]
        | None = None,
    ) -> UsageOut:
        org = principal.listed_org(org_id)
        if from_ is not None and to is not None and from_ > to:
            raise ApiError(400, "`from` is after `to`.", code="invalid_range")
        rows = await usage_by(engine, group_by, start=from_, end=to, org_id=org)
        return UsageOut(
            group_by=group_by,
            rows=[
                {
                    group_by: row.group,
                    "requests": row.requests,
                    "input_tokens": row.input_tokens,
                    "output_tokens": row.output_tokens,
                    "cached_tokens": row.cached_tokens,
                    "cache_write_5m_tokens": row.cache_write_5m_tokens,
                    "cache_write_1h_tokens": row.cache_write_1h_tokens,
                    "reasoning_tokens": row.reasoning_tokens,
                    "cost_usd": row.cost_usd,
                }
                for row in rows
            ],
        )
