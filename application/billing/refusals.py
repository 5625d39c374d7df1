"""What a refused request is told, and how its refusal is counted for the audit log.

A rate limit refuses with 429 and its `x-ratelimit-*` headers (`rate_refusal`), a budget with
429 `insufficient_quota` and when its window opens again (`budget_refusal`), an unpriced model
under a US-dollar budget with `ModelUnpriced` (`unpriced_refusal`). Each refusal is also noted
(`note_refusal`): alike ones are written to the audit log together, as one `RequestRefused`.
"""

from __future__ import annotations

from datetime import datetime

from application.shared.coalescer import Coalescer
from domains.billing.budget import Amount, Budget, Refusal, period_of, seconds_until_next
from domains.billing.errors import ModelUnpriced
from domains.billing.events import RequestRefused
from domains.shared.caller import Caller
from domains.shared.errors import LimitExceeded
from domains.shared.money import from_picodollars, usd_text


def unpriced_refusal(model: str) -> ModelUnpriced:
    return ModelUnpriced(
        f"The model `{model}` has no price, and a US-dollar budget applies to this "
        "key: an administrator has to price the model before it can be used."
    )


def rate_refusal(
    refused_by: str | None, measure: str | None, too_large: bool, headers: dict[str, str]
) -> LimitExceeded:
    scope = (refused_by or "").split(":", 1)[0] or "key"
    if too_large:
        return LimitExceeded(
            f"Request too large: it may use more tokens than this {scope}'s tokens-per-minute "
            "limit allows at all. Lower `max_tokens` or shorten the prompt.",
            code="rate_limit_exceeded",
            error_type="tokens",
            headers=headers,
            retryable=False,
        )
    what = "tokens" if measure == "tokens" else "requests"
    return LimitExceeded(
        f"Rate limit reached for {what} per minute on this {scope}. "
        f"Try again in {headers.get('Retry-After', '1')} s.",
        code="rate_limit_exceeded",
        error_type=what,
        headers=headers,
    )


def budget_refusal(
    refused: Refusal, budget: Budget, amount: Amount, now: datetime
) -> LimitExceeded:
    if refused.limit == "usd":
        left = f"${usd_text(from_picodollars(refused.remaining.picousd))} left"
        need = f"up to ${usd_text(from_picodollars(amount.picousd))}"
    else:
        left = f"{refused.remaining.tokens} tokens left"
        need = f"up to {amount.tokens} tokens"
    period = period_of(refused.budget_key)
    when = {"day": "today (UTC)", "month": "this month (UTC)", "total": "in total"}[period]
    headers: dict[str, str] = {}
    wait = seconds_until_next(period, now)
    if wait is not None:
        headers["Retry-After"] = str(wait)
    return LimitExceeded(
        f"Budget exceeded: the {budget.scope}'s budget {when} has {left}, and this request "
        f"may cost {need}.",
        code="budget_exceeded",
        error_type="insufficient_quota",
        headers=headers,
        retryable=False,
    )


def note_refusal(
    refusals: Coalescer | None, caller: Caller, kind: str, limit: str, measure: str
) -> None:
    """Counts the refusal for the audit log (alike ones are written together)."""
    if refusals is None:
        return

    def make(count: int, first: datetime, last: datetime) -> RequestRefused:
        return RequestRefused(
            kind=kind,
            key_id=caller.key_id,
            team_id=caller.team_id,
            org_id=caller.org_id,
            user_id=caller.user_id,
            limit=limit,
            measure=measure,
            count=count,
            first_at=first,
            last_at=last,
        )

    refusals.note(("refused", caller.key_id, kind, limit, measure), make)
