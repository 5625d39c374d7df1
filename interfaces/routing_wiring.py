"""The virtual models of the route step (`auto`, `fast`, `cheap`, `quality`, and the
configuration's own), built from `routing` and the providers' models and prices."""

from __future__ import annotations

from application.billing.limits_cache import LimitsCache
from application.providers.completions.virtual import Scored, SizeSplit, VirtualModels
from application.providers.latency import EwmaLatency
from domains.billing.limits import LimitsSnapshot
from domains.providers.complexity import PromptClassifier, RuleClassifier
from domains.providers.model import WILDCARD, Catalog, ModelRoute
from domains.providers.virtual_models import DEFAULT_QUALITY, Candidate, Weights, blended_price
from infrastructure.settings import Settings
from infrastructure.settings.routing_virtual import auto_enabled, virtual_weights

NOT_FOR_CHAT = "embed"
"""A model whose name (or upstream name) holds this is an embeddings model: never chosen by a
virtual model."""


class CurrentPrices:
    """`ModelPrices` from billing's limits snapshot (the configured prices and the admin API's),
    blended once per snapshot reload."""

    def __init__(self, limits: LimitsCache) -> None:
        self._limits = limits
        self._seen: LimitsSnapshot | None = None
        self._blended: dict[tuple[str, str], float | None] = {}

    def price_per_mtok(self, route: ModelRoute) -> float | None:
        snapshot = self._limits.snapshot
        if snapshot is not self._seen:
            self._seen, self._blended = snapshot, {}
        key = (route.provider, route.name)
        if key not in self._blended:
            price = snapshot.price_of(route.provider, route.name)
            self._blended[key] = (
                None
                if price is None
                else blended_price(float(price.input_per_mtok), float(price.output_per_mtok))
            )
        return self._blended[key]


def build_virtual_models(
    settings: Settings,
    catalog: Catalog,
    latency: EwmaLatency,
    classifier: PromptClassifier | None = None,
    limits: LimitsCache | None = None,
) -> VirtualModels | None:
    """None when no virtual model is enabled. `limits`: where the current prices are read
    (else the configured ones)."""
    routing = settings.routing
    scored = {
        name: Scored(
            Weights(weights.cost, weights.quality, weights.latency),
            tuple(models) if models is not None else None,
        )
        for name, (weights, models) in virtual_weights(
            routing.builtin_virtual_models, routing.virtual_models
        ).items()
    }
    auto = auto_enabled(routing.builtin_virtual_models, routing.virtual_models)
    if not scored and not auto:
        return None
    prices = {
        f"{provider.name}/{model.name}": model.price
        for provider in settings.providers
        for model in provider.models
    }
    never = set(routing.never_virtual)
    candidates = []
    for route in catalog.routes():
        names = (route.name, route.qualified_name)
        if never.intersection(names) or NOT_FOR_CHAT in f"{route.name} {route.upstream}".lower():
            continue
        if route.name == WILDCARD:  # `provider/*` passes names through: no model to choose
            continue
        price = prices.get(route.qualified_name)
        quality = routing.quality.get(
            route.qualified_name, routing.quality.get(route.name, DEFAULT_QUALITY)
        )
        candidates.append(
            Candidate(
                route,
                None
                if price is None
                else blended_price(float(price.input_per_mtok), float(price.output_per_mtok)),
                quality,
            )
        )
    tiers = routing.tiers
    split = tiers.by_size
    return VirtualModels(
        catalog=catalog,
        scored=scored,
        candidates=candidates,
        latency=latency,
        classifier=classifier or RuleClassifier(),
        tiers={
            "simple": tiers.simple,
            "medium": tiers.medium,
            "complex": tiers.complex,
            "reasoning": tiers.reasoning,
        },
        by_size=None
        if split is None
        else SizeSplit(split.above_prompt_tokens, split.fast, split.deep),
        auto=auto,
        local_share=routing.local_share,
        prices=CurrentPrices(limits) if limits is not None else None,
    )
