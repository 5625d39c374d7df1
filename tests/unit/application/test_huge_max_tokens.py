"""`max_tokens` of any size under a US-dollar budget: a clear 400 past the bound, and for any
value within it the reservation's arithmetic, its refusal's message and the money it prints stay
exact and never raise."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domains.billing.budget import max_request_amount
from domains.billing.model import Price
from domains.providers.output_limit import MAX_OUTPUT_TOKENS_ASKED, max_output_tokens
from domains.shared.errors import LimitExceeded
from domains.shared.money import from_picodollars, usd_text
from interfaces.http.anthropic.routes import MessagesRequest
from interfaces.http.errors import ApiError
from interfaces.http.openai.decoding import validated
from interfaces.http.openai.schemas import ChatCompletionRequest
from tests.unit.application.test_admission import CALLER, Harness, team_usd

ODD = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=5),
    st.none(),
)
PRICES = st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False)


def _accepted(body: dict[str, Any], schema: type[Any], field: str) -> bool:
    """Whether the route's validation takes `body`; a refusal must be a 400 naming `field`."""
    refusal: ApiError | None = None
    try:
        validated(body, schema)
    except ApiError as refused:
        refusal = refused
    if refusal is None:
        return True
    assert (refusal.status, refusal.param) == (400, field)
    return False


@given(value=ODD, field=st.sampled_from(["max_tokens", "max_completion_tokens"]))
@example(value=10**23, field="max_tokens")
@example(value=MAX_OUTPUT_TOKENS_ASKED + 1, field="max_completion_tokens")
def test_a_chat_body_names_at_most_the_bound_or_is_a_400(value: Any, field: str) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], field: value}
    accepted = _accepted(body, ChatCompletionRequest, field)
    usable = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    assert accepted == (value is None or (usable and value <= MAX_OUTPUT_TOKENS_ASKED))


@given(value=ODD)
@example(value=10**23)
def test_a_messages_body_names_at_most_the_bound_or_is_a_400(value: Any) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": value}
    accepted = _accepted(body, MessagesRequest, "max_tokens")
    usable = isinstance(value, int) and not isinstance(value, bool) and value >= 1
    assert accepted == (value is None or (usable and value <= MAX_OUTPUT_TOKENS_ASKED))


@given(
    output=st.integers(min_value=0, max_value=MAX_OUTPUT_TOKENS_ASKED * 128),
    prompt=st.integers(min_value=0, max_value=10**9),
    input_price=PRICES,
    output_price=PRICES,
)
@example(output=MAX_OUTPUT_TOKENS_ASKED * 128, prompt=10**9, input_price=10**6, output_price=10**6)
def test_the_most_a_request_may_cost_is_exact_and_printable(
    output: int, prompt: int, input_price: Decimal, output_price: Decimal
) -> None:
    price = Price(input_per_mtok=input_price, output_per_mtok=output_price)
    amount = max_request_amount(price, prompt, output)
    exact = (prompt * input_price + output * output_price) * 1_000_000
    assert amount.picousd >= exact > amount.picousd - 1
    usd = from_picodollars(amount.picousd)
    assert Fraction(usd) * 10**12 == amount.picousd
    assert Decimal(usd_text(usd)) == usd


@given(pico=st.integers(min_value=-(10**60), max_value=10**60))
def test_any_amount_of_picodollars_prints_exactly(pico: int) -> None:
    usd = from_picodollars(pico)
    assert Fraction(usd) * 10**12 == pico
    assert "E" not in usd_text(usd).upper()
    assert Fraction(Decimal(usd_text(usd))) * 10**12 == pico


@given(
    max_tokens=st.integers(min_value=1, max_value=MAX_OUTPUT_TOKENS_ASKED),
    n=st.integers(min_value=1, max_value=128),
)
@example(max_tokens=MAX_OUTPUT_TOKENS_ASKED, n=128)
def test_admission_under_a_usd_budget_reserves_or_refuses_clearly_for_any_accepted_limit(
    max_tokens: int, n: int
) -> None:
    body = {"max_tokens": max_tokens, "n": n}
    output = max_output_tokens(body, kind="chat", model_max=None, default=4096)

    async def admit() -> str:
        harness = Harness([team_usd(10)])
        try:
            ticket = await harness.admission.admit(CALLER, "openai", "m", lambda: (12, output))
        except LimitExceeded as refused:
            return str(refused)
        assert ticket.reserved == (12, output)
        ticket.release()
        await harness.admission.wait_settled()
        return ""

    refusal = asyncio.run(admit())
    fits = 12 * 1 + output * 2 <= 10 * 10**6  # $1 and $2 per Mtok: what $10 covers
    assert (refusal == "") == fits
    if refusal:
        assert "Budget exceeded" in refusal
        assert "E+" not in refusal


@pytest.mark.parametrize("value", [10**23, 2**64, MAX_OUTPUT_TOKENS_ASKED + 1])
def test_the_refusal_says_what_the_bound_is(value: int) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": value}
    with pytest.raises(ApiError) as refused:
        validated(body, ChatCompletionRequest)
    assert str(MAX_OUTPUT_TOKENS_ASKED) in str(refused.value.message)
