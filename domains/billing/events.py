"""What the billing context tells the others."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from domains.billing.budget import Period, Scope
from domains.shared.events import AuditFacts, Event
from domains.shared.money import usd_text


class UsageRecorded(Event, frozen=True, kw_only=True, tag=True):
    """A call's usage was written down with its cost. `priced` is False for an unpriced model."""

    usage_id: str
    source_event_id: str
    request_id: str
    org_id: str
    team_id: str
    user_id: str | None
    key_id: str
    provider: str
    model: str
    endpoint: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: Decimal
    priced: bool
    status: int = 200
    outcome: str = "ok"
    stream: bool = False
    usage_reported: bool = True
    transport: str = "http"  # "websocket": asked for over the WebSocket chat protocol

    def audit_facts(self) -> AuditFacts:
        """The call's audit row: who, which model, tokens, cost — never a prompt or an answer."""
        return AuditFacts(
            actor=f"key:{self.key_id}",
            action="chat.completion" if self.endpoint == "chat" else "embeddings.create",
            target=f"model:{self.provider}/{self.model}",
            data={
                "request_id": self.request_id,
                "team_id": self.team_id,
                "org_id": self.org_id,
                "user_id": self.user_id,
                "status": self.status,
                "outcome": self.outcome,
                "stream": self.stream,
                "transport": self.transport,
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "cached_tokens": self.cached_tokens,
                "usage_reported": self.usage_reported,
                "cost_usd": usd_text(self.cost_usd),
                "priced": self.priced,
            },
        )


class BudgetThresholdCrossed(Event, frozen=True, kw_only=True, tag=True):
    """A budget's spend in its window crossed `percent` (50, 80 or 100) of its limit on
    `measure`; raised once per window and threshold, by the settlement that crossed it."""

    scope: Scope
    scope_id: str
    period: Period
    window: str
    measure: str  # "usd" | "tokens"
    percent: int
    spent: str  # USD as a decimal string, or tokens
    limit: str
    actor: str = "system"

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="budget.threshold",
            target=f"{self.scope}:{self.scope_id}",
            data={
                "period": self.period,
                "window": self.window,
                "measure": self.measure,
                "percent": self.percent,
                "spent": self.spent,
                "limit": self.limit,
            },
        )


def _limits_data(
    period: Period, max_usd: Decimal | None, max_tokens: int | None
) -> dict[str, object]:
    """A budget's or a cap's limits as its audit row records them."""
    return {
        "period": period,
        "max_usd": None if max_usd is None else usd_text(max_usd),
        "max_tokens": max_tokens,
    }


class BudgetSet(Event, frozen=True, kw_only=True, tag=True):
    """A scope's budget for one period was set; both limits None: the budget was removed."""

    scope: Scope
    scope_id: str
    period: Period
    max_usd: Decimal | None
    max_tokens: int | None
    actor: str

    @property
    def removed(self) -> bool:
        return self.max_usd is None and self.max_tokens is None

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="budget.remove" if self.removed else "budget.set",
            target=f"{self.scope}:{self.scope_id}",
            data=_limits_data(self.period, self.max_usd, self.max_tokens),
        )


class BudgetCapSet(Event, frozen=True, kw_only=True, tag=True):
    """The operator set an org's budget cap for one period; both limits None: lifted."""

    org_id: str
    period: Period
    max_usd: Decimal | None
    max_tokens: int | None
    actor: str

    @property
    def removed(self) -> bool:
        return self.max_usd is None and self.max_tokens is None

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="budget_cap.remove" if self.removed else "budget_cap.set",
            target=f"org:{self.org_id}",
            data=_limits_data(self.period, self.max_usd, self.max_tokens),
        )


class BudgetAboveCapRefused(Event, frozen=True, kw_only=True, tag=True):
    """A budget above its org's operator-set cap (or the removal of the org's budget under a
    cap) was refused; nothing changed."""

    scope: Scope
    scope_id: str
    org_id: str
    period: Period
    max_usd: Decimal | None
    max_tokens: int | None
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="budget.cap_refused",
            target=f"{self.scope}:{self.scope_id}",
            data={
                "org_id": self.org_id,
                "period": self.period,
                "max_usd": None if self.max_usd is None else usd_text(self.max_usd),
                "max_tokens": self.max_tokens,
            },
        )


class RateLimitSet(Event, frozen=True, kw_only=True, tag=True):
    """A key's or team's requests and tokens per minute were set; None is no limit."""

    scope: Scope
    scope_id: str
    rpm: int | None
    tpm: int | None
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="rate_limit.set",
            target=f"{self.scope}:{self.scope_id}",
            data={"rpm": self.rpm, "tpm": self.tpm},
        )


class PriceSet(Event, frozen=True, kw_only=True, tag=True):
    """A model's price (USD per million tokens) was set through the admin API."""

    provider: str
    model: str
    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None
    actor: str

    def audit_facts(self) -> AuditFacts:
        cached = self.cached_input_per_mtok
        return AuditFacts(
            actor=self.actor,
            action="price.set",
            target=f"model:{self.provider}/{self.model}",
            data={
                "input_per_mtok": usd_text(self.input_per_mtok),
                "output_per_mtok": usd_text(self.output_per_mtok),
                "cached_input_per_mtok": None if cached is None else usd_text(cached),
            },
        )


class RequestRefused(Event, frozen=True, kw_only=True, tag=True):
    """Requests of a key were refused by a budget, a rate limit, or for want of a price:
    `count` alike (same key, kind and limit) between `first_at` and `last_at`."""

    kind: str  # "budget" | "rate_limit" | "unpriced"
    key_id: str
    team_id: str
    org_id: str
    user_id: str | None
    limit: str  # the budget window ("team:<id>:month:2026-11"), the limit ("key:<id>"), or model
    measure: str  # "usd" | "tokens" | "requests" | ""
    count: int
    first_at: datetime
    last_at: datetime

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=f"key:{self.key_id}",
            action={"budget": "budget.refused", "rate_limit": "rate_limit.refused"}.get(
                self.kind, "model.unpriced_refused"
            ),
            target=self.limit,
            data={
                "team_id": self.team_id,
                "org_id": self.org_id,
                "user_id": self.user_id,
                "measure": self.measure,
                "count": self.count,
                "first_at": self.first_at.isoformat(),
                "last_at": self.last_at.isoformat(),
            },
        )
