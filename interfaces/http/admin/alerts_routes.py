"""The alerts' delivery log through the admin API: one row per alert event and webhook, where
its tries stand (docs/alerts.md). The alerts speak of every org and of the deployments, so
only the operator's admin key reads them."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get
from litestar.params import Parameter

from infrastructure.queries.alert_deliveries import delivery_page
from interfaces.http.admin.guard import require_admin
from interfaces.http.dependencies import Caller, Engine

HexId = Annotated[str | None, Parameter(max_length=64, pattern=r"^[0-9a-f]+$")]


class DeliveryOut(msgspec.Struct):
    id: str
    """Also the body's `id` and the `X-FluxRouter-Delivery-Id` header."""
    event_id: str
    event_type: str
    webhook: str
    status: str  # pending, sending, delivered, failed
    attempts: int
    status_code: int | None  # the last try's answer; null: none came
    error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryPageOut(msgspec.Struct):
    deliveries: list[DeliveryOut]
    next_before: str | None


class AlertsController(Controller):
    path = "/admin/v1/alerts"
    guards = [require_admin]
    tags = ["Admin: alerts"]

    @get(
        "/deliveries",
        summary="The alerts' delivery log, newest first, keyset-paged by id",
        description="Page on with `before` = the answer's `next_before` (null on the last "
        "page). Filters: `status`, `webhook` (its configured name), `event_id`.",
    )
    async def deliveries(
        self,
        engine: Engine,
        principal: Caller,
        before: HexId = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        status: Literal["pending", "sending", "delivered", "failed"] | None = None,
        webhook: Annotated[str | None, Parameter(max_length=100)] = None,
        event_id: HexId = None,
    ) -> DeliveryPageOut:
        principal.require_root()
        rows = await delivery_page(
            engine, before=before, limit=limit, status=status, webhook=webhook, event_id=event_id
        )
        out = [DeliveryOut(**dataclasses.asdict(row)) for row in rows]
        return DeliveryPageOut(
            deliveries=out, next_before=out[-1].id if len(out) == limit else None
        )
