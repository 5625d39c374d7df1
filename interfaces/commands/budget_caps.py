"""`fluxrouter orgs budget-cap`: the operator caps an org's budget for a period, or lifts the
cap, through the bus (audited as `cli`)."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation

from application.billing.commands import SetBudgetCap
from domains.billing.budget_cap import BudgetCap
from domains.shared.errors import DomainError
from infrastructure.queries import directory
from infrastructure.settings import Settings
from interfaces.bootstrap import bootstrap


def _usd(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise DomainError("`--max-usd` must be a decimal number of US dollars.") from None


async def set_budget_cap(args: argparse.Namespace, settings: Settings) -> int:
    container = bootstrap(settings)
    try:
        if not args.lift and args.max_usd is None and args.max_tokens is None:
            raise DomainError("Give `--max-usd`, `--max-tokens` or both, or `--lift`.")
        if args.lift and (args.max_usd is not None or args.max_tokens is not None):
            raise DomainError("`--lift` takes no `--max-usd` or `--max-tokens`.")
        if not await directory.org_exists(container.engine, args.id):
            raise DomainError("There is no such org.")
        cap: BudgetCap | None = await container.bus.handle(
            SetBudgetCap(
                org_id=args.id,
                period=args.period,
                max_usd=_usd(args.max_usd),
                max_tokens=args.max_tokens,
                actor="cli",
            )
        )
    except DomainError as error:
        print(f"fluxrouter: {error.message}")
        return 1
    finally:
        await container.engine.dispose()
    if cap is None:
        print(f"org {args.id}: the {args.period} budget cap is lifted")
    else:
        print(f"org {args.id}: budget capped at {cap.text()}")
    return 0
