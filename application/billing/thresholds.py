"""Soft thresholds: the settlement that carries a budget's spend across 50, 80 or 100 % of its
limit says so, once. Settlements are atomic in the ledger, so exactly one of them sees each
crossing, whichever replica ran it."""

from __future__ import annotations

from collections.abc import Sequence

from domains.billing.budget import Amount, Budget
from domains.billing.events import BudgetThresholdCrossed
from domains.shared.money import from_picodollars, usd_text

THRESHOLDS_PERCENT = (50, 80, 100)


def crossings(
    budgets: Sequence[Budget], keys: Sequence[str], after: Sequence[Amount], charged: Amount
) -> list[BudgetThresholdCrossed]:
    """The thresholds each window crossed when `charged` took its spend to `after`."""
    crossed = []
    for budget, key, spent in zip(budgets, keys, after, strict=True):
        measures = (
            ("usd", budget.max_picousd, spent.picousd, charged.picousd),
            ("tokens", budget.max_tokens, spent.tokens, charged.tokens),
        )
        for measure, limit, now_spent, added in measures:
            if not limit or not added:
                continue
            before = now_spent - added
            for percent in THRESHOLDS_PERCENT:
                # crossed: before * 100 < limit * percent <= now * 100, in integers
                if before * 100 < limit * percent <= now_spent * 100:
                    crossed.append(_event(budget, key, measure, percent, now_spent, limit))
    return crossed


def _event(
    budget: Budget, key: str, measure: str, percent: int, spent: int, limit: int
) -> BudgetThresholdCrossed:
    def shown(value: int) -> str:
        return usd_text(from_picodollars(value)) if measure == "usd" else str(value)

    return BudgetThresholdCrossed(
        scope=budget.scope,
        scope_id=budget.scope_id,
        period=budget.period,
        window=key,
        measure=measure,
        percent=percent,
        spent=shown(spent),
        limit=shown(limit),
    )
