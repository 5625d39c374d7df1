"""What limits apply to a request: the budgets of its org, team, user and key, the rate limits
of its key and team, and the model's price. A snapshot is read whole from the database and
swapped in whole, so a request never sees half of an update."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from domains.billing.budget import Budget, Scope
from domains.billing.model import Price


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Requests and tokens per minute for one key or team; None is no limit on that measure."""

    scope: Scope
    scope_id: str
    rpm: int | None
    tpm: int | None

    def __post_init__(self) -> None:
        for limit in (self.rpm, self.tpm):
            if limit is not None and limit < 0:
                raise ValueError("a rate limit cannot be negative")

    @property
    def name(self) -> str:
        return f"{self.scope}:{self.scope_id}"


@dataclass(frozen=True, slots=True)
class LimitsSnapshot:
    budgets: Mapping[tuple[str, str], tuple[Budget, ...]] = field(default_factory=dict)
    rate_limits: Mapping[tuple[str, str], RateLimit] = field(default_factory=dict)
    prices: Mapping[tuple[str, str], Price] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        budgets: Iterable[Budget] = (),
        rate_limits: Iterable[RateLimit] = (),
        prices: Mapping[tuple[str, str], Price] | None = None,
    ) -> LimitsSnapshot:
        by_scope: dict[tuple[str, str], list[Budget]] = {}
        for budget in budgets:
            by_scope.setdefault((budget.scope, budget.scope_id), []).append(budget)
        return cls(
            budgets={scope: tuple(found) for scope, found in by_scope.items()},
            rate_limits={(limit.scope, limit.scope_id): limit for limit in rate_limits},
            prices=dict(prices or {}),
        )

    def budgets_for(
        self, *, org_id: str, team_id: str, user_id: str | None, key_id: str
    ) -> list[Budget]:
        scopes: list[tuple[str, str]] = [("org", org_id), ("team", team_id), ("key", key_id)]
        if user_id is not None:
            scopes.append(("user", user_id))
        return [budget for scope in scopes for budget in self.budgets.get(scope, ())]

    def rate_limits_for(self, *, team_id: str, key_id: str) -> list[RateLimit]:
        found = (self.rate_limits.get(("key", key_id)), self.rate_limits.get(("team", team_id)))
        return [limit for limit in found if limit is not None]

    def price_of(self, provider: str, model: str) -> Price | None:
        """The model's price, else its provider's wildcard model's (`*`), else None."""
        price = self.prices.get((provider, model))
        return price if price is not None else self.prices.get((provider, "*"))
