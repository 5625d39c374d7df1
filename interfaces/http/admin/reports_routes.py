"""Usage and the audit log, read from the read models."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter

from infrastructure.read_models.audit_query import audit_page, verify_audit
from infrastructure.read_models.usage_query import usage_by
from interfaces.http.admin.guard import require_admin
from interfaces.http.container import container_of
from interfaces.http.errors import ApiError

MAX_SEQ = 2**63 - 1
NO_NUL = r"^[^\x00]*$"

GroupBy = Literal["org", "team", "user", "key", "model", "provider", "day"]


class UsageOut(msgspec.Struct):
    group_by: str
    rows: list[dict[str, Any]]


class AuditRowOut(msgspec.Struct):
    seq: int
    ts: str
    actor: str
    action: str
    target: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPageOut(msgspec.Struct):
    rows: list[AuditRowOut]
    next_after_seq: int | None


class AuditVerifyOut(msgspec.Struct, omit_defaults=True):
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None


class ReportsController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: reports"]

    @get("/usage", summary="Requests, tokens and cost, grouped")
    async def usage(
        self,
        request: Request[Any, Any, Any],
        group_by: GroupBy = "model",
        from_: Annotated[date | None, Parameter(query="from")] = None,
        to: date | None = None,
    ) -> UsageOut:
        if from_ is not None and to is not None and from_ > to:
            raise ApiError(400, "`from` is after `to`.", code="invalid_range")
        rows = await usage_by(container_of(request).engine, group_by, start=from_, end=to)
        return UsageOut(
            group_by=group_by,
            rows=[
                {
                    group_by: row.group,
                    "requests": row.requests,
                    "input_tokens": row.input_tokens,
                    "output_tokens": row.output_tokens,
                    "cost_usd": row.cost_usd,
                }
                for row in rows
            ],
        )

    @get("/audit", summary="Audit log rows, oldest first, keyset-paged by seq")
    async def audit(
        self,
        request: Request[Any, Any, Any],
        after_seq: Annotated[int, Parameter(ge=0, le=MAX_SEQ)] = 0,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        actor: Annotated[str, Parameter(max_length=300, pattern=NO_NUL)] | None = None,
        action: Annotated[str, Parameter(max_length=100, pattern=NO_NUL)] | None = None,
    ) -> AuditPageOut:
        rows = await audit_page(
            container_of(request).engine,
            after_seq=after_seq,
            limit=limit,
            actor=actor,
            action=action,
        )
        out = [AuditRowOut(**row.as_dict()) for row in rows]
        return AuditPageOut(rows=out, next_after_seq=out[-1].seq if len(out) == limit else None)

    @get("/audit/verify", summary="Recompute the whole hash chain")
    async def audit_verify(self, request: Request[Any, Any, Any]) -> AuditVerifyOut:
        check = await verify_audit(container_of(request).engine)
        return AuditVerifyOut(
            ok=check.ok,
            checked=check.checked,
            head_seq=check.head_seq,
            head_hash=check.head_hash,
            first_bad_seq=check.first_bad_seq,
            reason=check.reason,
        )
