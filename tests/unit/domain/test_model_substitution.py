"""Model substitution advice: the traffic's tokens of each kind re-priced at each candidate's
rates; only cheaper models of at least the used model's quality less the tolerance."""

from __future__ import annotations

from decimal import Decimal

from domains.billing.model import Price
from domains.billing.substitution import repriced, substitutes
from domains.shared.usage import Usage

GPT4O = Price(input_per_mtok=Decimal("2.5"), output_per_mtok=Decimal(10))
MINI = Price(input_per_mtok=Decimal("0.15"), output_per_mtok=Decimal("0.6"))
CACHED = Price(
    input_per_mtok=Decimal(1),
    output_per_mtok=Decimal(4),
    cached_input_per_mtok=Decimal("0.5"),
    reasoning_output_per_mtok=Decimal(8),
)
QUALITY = {"gpt-4o": 0.9, "gpt-4o-mini": 0.88, "cached": 0.86, "weak": 0.3}


def test_each_kind_of_token_is_priced_at_its_rate() -> None:
    usage = Usage(
        input_tokens=1_000_000,
        cached_tokens=400_000,
        output_tokens=500_000,
        reasoning_tokens=100_000,
    )
    # 600k plain at 1, 400k read at 0.5, 400k plain output at 4, 100k reasoning at 8
    assert repriced(CACHED, usage) == Decimal("0.6") + Decimal("0.2") + Decimal("1.6") + Decimal(
        "0.8"
    )


def test_cheaper_models_of_similar_quality_cheapest_first() -> None:
    usage = Usage(input_tokens=200_000, output_tokens=50_000)  # $1 on gpt-4o
    weak = Price(input_per_mtok=Decimal("0.01"), output_per_mtok=Decimal("0.01"))
    found = substitutes(
        ("openai", "gpt-4o"),
        usage,
        Decimal(1),
        priced=[
            (("openai", "gpt-4o"), GPT4O),
            (("openai", "gpt-4o-mini"), MINI),
            (("x", "cached"), CACHED),
            (("x", "weak"), weak),
        ],
        quality=lambda name: QUALITY[name[1]],
        tolerance=0.05,
    )
    assert [(c.model, c.cost, c.saving) for c in found] == [
        ("gpt-4o-mini", Decimal("0.06"), Decimal("0.94")),
        ("cached", Decimal("0.4"), Decimal("0.6")),
    ]
