"""Virtual models: a name (`auto`, `fast`, `cheap`, `quality`...) that the gateway resolves, per
request, to one of the models the caller may use.

A scored virtual model weighs each candidate on three parts, each from 0 (worst) to 1 (best)
among the candidates of this request:

- cost: 1 - price / the dearest candidate's price (a blended USD per million tokens, three
  input tokens to one output token). A self-hosted (`openai-compatible`) model without a price
  is free; any other model without a price counts as the dearest candidate.
- quality: the configured quality of the model (0..1), `DEFAULT_QUALITY` if none is given.
- latency: 1 - latency / the slowest candidate's latency, the latency measured by `ModelLatency`
  (an average of recent calls); a model not measured yet counts as the mean of the measured
  ones (every candidate scores 1 when none is measured).

score = w_cost × cost + w_quality × quality + w_latency × latency (the weights are the virtual
model's). The highest score wins, except that the best self-hosted candidate wins whenever its
score is at least `local_share` of the best score: free and good enough beats expensive and
marginally better. Ties go to the model declared first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from domains.providers.model import ModelRoute

DEFAULT_QUALITY = 0.5
LOCAL_KIND = "openai-compatible"


class ModelLatency(Protocol):
    """The recent latency of a model's calls, in milliseconds; None if it has not been
    measured. Keyed by the model's qualified name (`provider/name`)."""

    def latency_ms(self, model_name: str) -> float | None: ...


class ModelPrices(Protocol):
    """A model's current price, blended (`blended_price`, USD per million tokens); None if it
    has none: the configured prices and the ones set through the admin API alike."""

    def price_per_mtok(self, route: ModelRoute) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Weights:
    cost: float
    quality: float
    latency: float


@dataclass(frozen=True, slots=True)
class Candidate:
    route: ModelRoute
    price: float | None
    """Blended USD per million tokens; None: the model has no price."""
    quality: float = DEFAULT_QUALITY

    @property
    def local(self) -> bool:
        return self.route.kind == LOCAL_KIND


@dataclass(frozen=True, slots=True)
class Choice:
    route: ModelRoute
    score: float
    best: float
    """The best score of the candidates (the chosen model's own unless a local model won)."""
    local_won: bool


def blended_price(input_per_mtok: float, output_per_mtok: float) -> float:
    return (3 * input_per_mtok + output_per_mtok) / 4


def scores(
    candidates: Sequence[Candidate],
    weights: Weights,
    latency: ModelLatency,
    prices: ModelPrices | None = None,
) -> list[float]:
    """Each candidate's score, in order; `prices`: the current prices, else each candidate's
    own."""
    if prices is None:
        blended = [_price(c.price, c) for c in candidates]
    else:
        blended = [_price(prices.price_per_mtok(c.route), c) for c in candidates]
    known = [price for price in blended if price is not None]
    dearest = max(known, default=0.0)
    costs = [
        0.0 if price is None else (1.0 if dearest <= 0 else 1.0 - price / dearest)
        for price in blended
    ]
    measured = [latency.latency_ms(candidate.route.qualified_name) for candidate in candidates]
    seen = [ms for ms in measured if ms is not None]
    mean = sum(seen) / len(seen) if seen else 0.0
    slowest = max(seen, default=0.0)
    speeds = [
        1.0 if slowest <= 0 else 1.0 - (mean if ms is None else ms) / slowest for ms in measured
    ]
    return [
        weights.cost * cost + weights.quality * candidate.quality + weights.latency * speed
        for candidate, cost, speed in zip(candidates, costs, speeds, strict=True)
    ]


def choose(
    candidates: Sequence[Candidate],
    weights: Weights,
    latency: ModelLatency,
    local_share: float,
    prices: ModelPrices | None = None,
) -> Choice | None:
    """The winning candidate; None if there is none."""
    if not candidates:
        return None
    scored = scores(candidates, weights, latency, prices)
    best = max(range(len(scored)), key=lambda i: (scored[i], -i))
    locals_ = [i for i, candidate in enumerate(candidates) if candidate.local]
    if locals_ and not candidates[best].local:
        local = max(locals_, key=lambda i: (scored[i], -i))
        if scored[local] >= local_share * scored[best]:
            return Choice(candidates[local].route, scored[local], scored[best], local_won=True)
    return Choice(candidates[best].route, scored[best], scored[best], local_won=False)


def _price(price: float | None, candidate: Candidate) -> float | None:
    if price is None and candidate.local:
        return 0.0
    return price
