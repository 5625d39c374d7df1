"""An org's budget cap: which budgets it refuses, and how it brings the org's budget within it."""

from __future__ import annotations

import pytest

from domains.billing.budget import Budget
from domains.billing.budget_cap import BudgetCap

USD = 10**12  # picodollars in a dollar
CAP = BudgetCap(org_id="org-1", period="month", max_picousd=100 * USD, max_tokens=None)


def budget(scope: str, usd: int | None, tokens: int | None = None, period: str = "month") -> Budget:
    return Budget(
        scope=scope,  # type: ignore[arg-type]
        scope_id="org-1" if scope == "org" else f"{scope}-1",
        period=period,  # type: ignore[arg-type]
        max_picousd=None if usd is None else usd * USD,
        max_tokens=tokens,
    )


@pytest.mark.parametrize(
    ("proposed", "refused"),
    [
        (budget("org", 50), False),
        (budget("org", 100), False),  # at the cap
        (budget("org", 101), True),
        (budget("org", None), True),  # removing the org's budget
        (budget("org", None, tokens=10), True),  # dropping the capped measure
        (budget("org", 100, tokens=10**9), False),  # a measure the cap leaves out is free
        (budget("team", 101), True),
        (budget("team", None, tokens=10), False),  # the org's budget bounds the team's dollars
        (budget("team", None), False),  # removing a team's budget
        (budget("key", 100), False),
        (budget("user", 1000), True),
        (budget("org", None, period="day"), False),  # another period: not capped
        (budget("org", 10**6, period="total"), False),
    ],
)
def test_a_cap_refuses_only_budgets_that_would_let_the_org_pass_it(
    proposed: Budget, refused: bool
) -> None:
    reason = CAP.refusal(proposed)
    assert (reason is not None) is refused
    if reason is not None:
        assert "$100 per month" in reason
        assert "operator" in reason


def test_setting_a_cap_brings_the_orgs_budget_within_it() -> None:
    both = BudgetCap(org_id="org-1", period="month", max_picousd=100 * USD, max_tokens=1000)
    assert both.clamp(None) == budget("org", 100, tokens=1000)
    assert both.clamp(budget("org", 500)) == budget("org", 100, tokens=1000)
    assert both.clamp(budget("org", 20, tokens=5000)) == budget("org", 20, tokens=1000)
    assert both.clamp(budget("org", 20, tokens=10)) == budget("org", 20, tokens=10)
    for clamped in (both.clamp(None), both.clamp(budget("org", 500, tokens=10**9))):
        assert both.refusal(clamped) is None


def test_a_cap_caps_something() -> None:
    with pytest.raises(ValueError, match="caps USD, tokens, or both"):
        BudgetCap(org_id="org-1", period="day", max_picousd=None, max_tokens=None)
    with pytest.raises(ValueError, match="negative"):
        BudgetCap(org_id="org-1", period="day", max_picousd=-1, max_tokens=None)
