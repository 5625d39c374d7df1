"""An org's budget cap: the most the operator lets an org spend in a period.

Only the operator sets, raises or lifts a cap. Under one, the org's own budget for that period is
always set and never above the cap (setting the cap brings it down), and no budget of the org's
teams, people or keys may be set above it: an org admin may tighten the org's budget, never
loosen it past the cap nor remove it, so spending stops at the cap.
"""

from __future__ import annotations

from dataclasses import dataclass

from domains.billing.budget import Budget, Period
from domains.shared.errors import Forbidden
from domains.shared.money import from_picodollars, usd_text


class AboveBudgetCap(Forbidden):
    """A budget above (or the removal of) what the org's operator-set cap allows."""

    code = "budget_cap_exceeded"


@dataclass(frozen=True, slots=True)
class CapRefusal:
    """What a budget command answers when the org's cap refused it: the refusal is recorded
    (audited) like any change, and the caller raises `error()`."""

    reason: str

    def error(self) -> AboveBudgetCap:
        return AboveBudgetCap(self.reason)


def _under(limit: int | None, cap: int | None, *, required: bool) -> bool:
    """Whether `limit` (None: no limit) stays within `cap` (None: no cap on that measure);
    `required`: no limit at all counts as above the cap (the org's own budget)."""
    if cap is None:
        return True
    if limit is None:
        return not required
    return limit <= cap


def _least(limit: int | None, cap: int | None) -> int | None:
    if cap is None:
        return limit
    return cap if limit is None else min(limit, cap)


@dataclass(frozen=True, slots=True)
class BudgetCap:
    """The operator's cap on one org for one period; None is no cap on that measure."""

    org_id: str
    period: Period
    max_picousd: int | None
    max_tokens: int | None

    def __post_init__(self) -> None:
        if self.max_picousd is None and self.max_tokens is None:
            raise ValueError("a budget cap caps USD, tokens, or both")
        for limit in (self.max_picousd, self.max_tokens):
            if limit is not None and limit < 0:
                raise ValueError("a budget cap cannot be negative")

    def text(self) -> str:
        parts = []
        if self.max_picousd is not None:
            parts.append(f"${usd_text(from_picodollars(self.max_picousd))}")
        if self.max_tokens is not None:
            parts.append(f"{self.max_tokens} tokens")
        return f"{' and '.join(parts)} per {self.period}"

    def refusal(self, budget: Budget) -> str | None:
        """Why `budget` (of this org or of one of its teams, people or keys; with no limits:
        its removal) may not be set under this cap; None when it may. Only a budget of the
        cap's period is bound by it."""
        if budget.period != self.period:
            return None
        required = budget.scope == "org"
        if _under(budget.max_picousd, self.max_picousd, required=required) and _under(
            budget.max_tokens, self.max_tokens, required=required
        ):
            return None
        what = "The org's" if required else f"A {budget.scope}'s"
        removed = budget.max_picousd is None and budget.max_tokens is None
        doing = "removing it" if removed else "this budget"
        return (
            f"{what} {self.period} budget may not exceed the cap the operator set on the org "
            f"({self.text()}); {doing} would. Only the operator can raise or lift the cap."
        )

    def clamp(self, budget: Budget | None) -> Budget:
        """The org's budget for the cap's period brought within the cap (each measure the
        smaller of the two; none: the cap's)."""
        return Budget(
            scope="org",
            scope_id=self.org_id,
            period=self.period,
            max_picousd=_least(None if budget is None else budget.max_picousd, self.max_picousd),
            max_tokens=_least(None if budget is None else budget.max_tokens, self.max_tokens),
        )
