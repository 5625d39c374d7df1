"""How a scored virtual model ranks its candidates: cost from the price (unpriced: free when
self-hosted, dearest otherwise), quality from config, measured latency, the weights, and a
self-hosted model winning within `local_share` of the best."""

from __future__ import annotations

import pytest

from domains.providers.model import ModelRoute
from domains.providers.virtual_models import Candidate, Weights, blended_price, choose, scores


class Measured:
    def __init__(self, **latencies: float) -> None:
        self._latencies = {name.replace("__", "/"): ms for name, ms in latencies.items()}

    def latency_ms(self, model_name: str) -> float | None:
        return self._latencies.get(model_name)


UNMEASURED = Measured()
CHEAP_ONLY = Weights(cost=1, quality=0, latency=0)
QUALITY_ONLY = Weights(cost=0, quality=1, latency=0)
LATENCY_ONLY = Weights(cost=0, quality=0, latency=1)


def model(name: str, price: float | None, quality: float = 0.5, kind: str = "openai") -> Candidate:
    provider = "local" if kind == "openai-compatible" else "openai"
    return Candidate(ModelRoute(provider, kind, name, name), price, quality)


MINI = model("mini", blended_price(0.15, 0.6), quality=0.6)
BIG = model("big", blended_price(2.5, 10), quality=0.9)
LLAMA = model("llama", None, quality=0.5, kind="openai-compatible")
MYSTERY = model("mystery", None, quality=0.5)


def test_the_blended_price_is_three_input_tokens_to_one_output_token() -> None:
    assert blended_price(2.5, 10) == pytest.approx(4.375)


def test_cost_is_relative_to_the_dearest_candidate() -> None:
    assert scores([MINI, BIG], CHEAP_ONLY, UNMEASURED) == pytest.approx(
        [1 - MINI.price / BIG.price, 0.0]  # type: ignore[operator]
    )


def test_an_unpriced_model_is_free_when_self_hosted_and_dearest_otherwise() -> None:
    assert scores([LLAMA, MINI, MYSTERY], CHEAP_ONLY, UNMEASURED) == pytest.approx([1.0, 0.0, 0.0])


def test_quality_and_latency_follow_their_weights() -> None:
    assert scores([MINI, BIG], QUALITY_ONLY, UNMEASURED) == pytest.approx([0.6, 0.9])
    latency = Measured(openai__mini=100.0, openai__big=400.0)
    assert scores([MINI, BIG], LATENCY_ONLY, latency) == pytest.approx([0.75, 0.0])


def test_an_unmeasured_model_counts_as_the_mean_of_the_measured_ones() -> None:
    latency = Measured(openai__mini=100.0, openai__big=300.0)
    third = model("third", 1.0)
    assert scores([MINI, BIG, third], LATENCY_ONLY, latency) == pytest.approx(
        [1 - 100 / 300, 0.0, 1 - 200 / 300]
    )
    assert scores([MINI, BIG], LATENCY_ONLY, UNMEASURED) == [1.0, 1.0]


def test_the_weights_decide_the_winner() -> None:
    assert choose([MINI, BIG], CHEAP_ONLY, UNMEASURED, 1.0).route.name == "mini"  # type: ignore[union-attr]
    assert choose([MINI, BIG], QUALITY_ONLY, UNMEASURED, 1.0).route.name == "big"  # type: ignore[union-attr]
    fast = Measured(openai__mini=900.0, openai__big=90.0)
    assert choose([MINI, BIG], LATENCY_ONLY, fast, 1.0).route.name == "big"  # type: ignore[union-attr]


def test_a_local_model_wins_within_the_local_share_of_the_best() -> None:
    # quality-heavy: big scores 0.9 (quality) + 0.1 x 0 (the dearest) = 0.81 + 0.01 (latency);
    # llama 0.8 x 0.5 + 0.1 x 1 (free) + 0.1 x 1 = 0.6, 74 % of the best
    weights = Weights(cost=0.1, quality=0.8, latency=0.1)
    won = choose([BIG, LLAMA], weights, UNMEASURED, 0.70)
    assert won is not None
    assert (won.route.name, won.local_won) == ("llama", True)
    assert won.score == pytest.approx(0.6)
    assert won.best == pytest.approx(0.82)
    lost = choose([BIG, LLAMA], weights, UNMEASURED, 0.75)  # 74 % is not 75 %
    assert lost is not None
    assert (lost.route.name, lost.local_won) == ("big", False)


def test_a_local_model_that_is_best_wins_on_its_score() -> None:
    won = choose([MINI, LLAMA], CHEAP_ONLY, UNMEASURED, 1.0)
    assert won is not None
    assert (won.route.name, won.local_won) == ("llama", False)


def test_a_tie_goes_to_the_model_declared_first() -> None:
    twin = model("twin", MINI.price, quality=0.6)
    assert choose([MINI, twin], CHEAP_ONLY, UNMEASURED, 1.0).route.name == "mini"  # type: ignore[union-attr]
    assert choose([twin, MINI], CHEAP_ONLY, UNMEASURED, 1.0).route.name == "twin"  # type: ignore[union-attr]


def test_no_candidate_is_no_choice() -> None:
    assert choose([], CHEAP_ONLY, UNMEASURED, 0.7) is None
