"""Money as whole picodollars: exact round trips and plain decimal text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.shared.money import from_picodollars, to_picodollars, usd_text

USD = st.decimals(
    min_value=Decimal("-1000000000"),
    max_value=Decimal("1000000000"),
    places=12,
    allow_nan=False,
    allow_infinity=False,
)


@given(USD)
def test_usd_with_at_most_12_places_round_trips_through_picodollars(usd: Decimal) -> None:
    pico = to_picodollars(usd)
    assert isinstance(pico, int)
    assert from_picodollars(pico) == usd


@given(st.integers(-(10**21), 10**21))
def test_picodollars_round_trip_through_usd(pico: int) -> None:
    assert to_picodollars(from_picodollars(pico)) == pico


@pytest.mark.parametrize(
    ("usd", "pico"),
    [
        (Decimal("1"), 10**12),
        (Decimal("0.000000000001"), 1),
        (Decimal("0.0005253"), 525_300_000),
        (Decimal("-2.5"), -2_500_000_000_000),
        (Decimal(0), 0),
    ],
)
def test_known_conversions(usd: Decimal, pico: int) -> None:
    assert to_picodollars(usd) == pico
    assert from_picodollars(pico) == usd


def test_sub_picodollar_amounts_round_half_even() -> None:
    assert to_picodollars(Decimal("0.0000000000005")) == 0  # 0.5 pico → 0 (even)
    assert to_picodollars(Decimal("0.0000000000015")) == 2  # 1.5 pico → 2 (even)
    assert to_picodollars(Decimal("0.0000000000025")) == 2  # 2.5 pico → 2 (even)
    assert to_picodollars(Decimal("0.00000000000251")) == 3


def test_from_picodollars_is_normalized() -> None:
    assert str(from_picodollars(1_500_000_000_000)) == "1.5"
    assert str(from_picodollars(1)) == "1E-12"  # normalized; usd_text renders it plainly


@pytest.mark.parametrize(
    ("usd", "text"),
    [
        (Decimal("1E-12"), "0.000000000001"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0.0005253000"), "0.0005253"),
        (Decimal("-12.50"), "-12.5"),
        (Decimal("0"), "0"),
    ],
)
def test_usd_text_never_uses_exponent_notation(usd: Decimal, text: str) -> None:
    assert usd_text(usd) == text


@given(USD)
def test_usd_text_parses_back_to_the_same_amount(usd: Decimal) -> None:
    text = usd_text(usd)
    assert "E" not in text.upper()
    assert Decimal(text) == usd
