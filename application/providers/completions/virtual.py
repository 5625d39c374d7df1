"""Virtual models in the pipeline's route step: a virtual name (`auto`, `fast`, `cheap`,
`quality`, or one the configuration defines) becomes one concrete model the caller may use, and
a short reason why (for the `x-fluxrouter-route` header and the request log).

- A scored virtual model ranks the caller's candidates (`domains.providers.virtual_models`).
- `auto` sorts the prompt into a tier (`domains.providers.complexity`), or by its size alone
  when a size split is configured, and routes as the tier's target: a model, or a scored
  virtual model. A target model the caller may not use gives way to the tier's default scored
  virtual model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domains.providers.complexity import Classified, PromptClassifier, Tier, read_signals
from domains.providers.errors import ModelNotAllowed, UnknownModel
from domains.providers.model import Catalog, ModelRoute
from domains.providers.policy import NO_DECISION, Decision
from domains.providers.virtual_models import (
    Candidate,
    ModelLatency,
    ModelPrices,
    Weights,
    choose,
)
from domains.shared.caller import Caller

AUTO = "auto"
Admits = Callable[[ModelRoute], bool]
"""Whether a model may serve this request besides the key's allow-list (the routing policies)."""
VIRTUAL_PROVIDER = "fluxrouter"
"""The `owned_by` of a virtual model in `/v1/models`."""
TIER_FALLBACK: Mapping[Tier, str] = {
    "simple": "cheap",
    "medium": "fast",
    "complex": "quality",
    "reasoning": "quality",
}
"""The scored virtual model a tier falls back to when its target model is not the caller's."""


@dataclass(frozen=True, slots=True)
class Routed:
    """The concrete model a request goes to; `reason` says why, when a virtual model chose it
    (None for a model asked for by name); `policy`, what the routing policies decided for it (an
    output cap to apply)."""

    route: ModelRoute
    reason: str | None = None
    policy: Decision = NO_DECISION


@dataclass(frozen=True, slots=True)
class Scored:
    """A scored virtual model: its weights, and the models it chooses among (None: every
    model, less the ones never chosen by a virtual model)."""

    weights: Weights
    models: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class SizeSplit:
    """`auto` by request size alone: above `above_prompt_tokens`, `deep`; else `fast`."""

    above_prompt_tokens: int
    fast: str
    deep: str


@dataclass(frozen=True, slots=True)
class VirtualModels:
    catalog: Catalog
    scored: Mapping[str, Scored]
    """Every enabled scored virtual model, by name."""
    candidates: Sequence[Candidate]
    """Every model a virtual model may choose, with its price and quality, in declared order."""
    latency: ModelLatency
    classifier: PromptClassifier
    tiers: Mapping[Tier, str] = field(default_factory=lambda: dict(TIER_FALLBACK))
    by_size: SizeSplit | None = None
    auto: bool = True
    local_share: float = 0.7
    prices: ModelPrices | None = None
    """The current prices (the admin API's included); None: each candidate's own `price`."""

    def names(self) -> list[str]:
        return ([AUTO] if self.auto else []) + list(self.scored)

    def is_virtual(self, name: str) -> bool:
        return name in self.scored or (self.auto and name == AUTO)

    def is_auto(self, name: str) -> bool:
        """`name` is `auto` and `auto` classifies prompts (not split by size alone)."""
        return self.auto and name == AUTO and self.by_size is None

    def classify(self, body: Mapping[str, Any]) -> Classified:
        return self.classifier.classify(body)

    def names_for(self, caller: Caller) -> list[str]:
        """The virtual models `caller` may use: those with a candidate the caller may use."""
        shown = [name for name in self.scored if self._allowed(caller, self.scored[name])]
        if self.auto and any(self._may_use(caller, t) for t in self._targets()):
            shown.insert(0, AUTO)
        return shown

    def resolve(
        self,
        caller: Caller,
        name: str,
        body: Mapping[str, Any],
        *,
        allowed: Admits | None = None,
        classified: Classified | None = None,
    ) -> Routed:
        """`name`, a virtual model, as the concrete model it chooses for this caller and body,
        among the models the caller may use and `allowed` lets through (the routing policies);
        `ModelNotAllowed` if there is none. `classified`: the body's tier, when already known."""
        if name == AUTO and self.auto:
            return self._auto(caller, body, classified, allowed)
        return self._scored(caller, name, name, allowed)

    def _auto(
        self,
        caller: Caller,
        body: Mapping[str, Any],
        classified: Classified | None,
        allowed: Admits | None,
    ) -> Routed:
        if self.by_size is not None:
            split = self.by_size
            tokens = read_signals(body).prompt_tokens
            deep = tokens > split.above_prompt_tokens
            side = "deep" if deep else "fast"
            target = split.deep if deep else split.fast
            why = f"auto size={tokens}tok {side}"
            return self._to(caller, target, why, "quality" if deep else "fast", allowed)
        classified = classified or self.classifier.classify(body)
        tier = classified.tier
        why = f"auto tier={tier} points={classified.score}"
        return self._to(caller, self.tiers[tier], why, TIER_FALLBACK[tier], allowed)

    def _to(
        self, caller: Caller, target: str, why: str, fallback: str, allowed: Admits | None
    ) -> Routed:
        """`target` (a model or a scored virtual model) for `caller`; `fallback` if the caller
        may not use the target model."""
        if target in self.scored:
            try:
                return self._scored(caller, target, f"{why} -> {target}", allowed)
            except ModelNotAllowed:
                raise ModelNotAllowed(AUTO) from None  # named as the client named it
        try:
            route = self.catalog.resolve(target)
        except UnknownModel:
            route = None
        if route is not None and _may(caller, route) and (allowed is None or allowed(route)):
            return Routed(route, f"{why} -> {route.qualified_name}")
        if fallback not in self.scored:
            raise ModelNotAllowed(AUTO)
        try:
            why = f"{why} -> {target} not allowed -> {fallback}"
            return self._scored(caller, fallback, why, allowed)
        except ModelNotAllowed:
            raise ModelNotAllowed(AUTO) from None

    def _scored(self, caller: Caller, name: str, why: str, allowed: Admits | None) -> Routed:
        virtual = self.scored.get(name)
        if virtual is None:
            raise UnknownModel(name)
        among = self._among(virtual)
        mine = among if caller.models is None else [c for c in among if _may(caller, c.route)]
        if allowed is not None:
            mine = [c for c in mine if allowed(c.route)]
        choice = choose(mine, virtual.weights, self.latency, self.local_share, self.prices)
        if choice is None:
            raise ModelNotAllowed(name)
        local = f" local>={self.local_share:g}x{choice.best:.2f}" if choice.local_won else ""
        reason = f"{why}: {choice.route.qualified_name} score={choice.score:.2f}{local}"
        return Routed(choice.route, reason)

    def _among(self, virtual: Scored) -> Sequence[Candidate]:
        if virtual.models is None:
            return self.candidates
        wanted = set(virtual.models)
        return [
            c for c in self.candidates if c.route.name in wanted or c.route.qualified_name in wanted
        ]

    def _allowed(self, caller: Caller, virtual: Scored) -> bool:
        return any(_may(caller, c.route) for c in self._among(virtual))

    def _targets(self) -> list[str]:
        if self.by_size is not None:
            return [self.by_size.fast, self.by_size.deep]
        return list(self.tiers.values()) + list(TIER_FALLBACK.values())

    def _may_use(self, caller: Caller, target: str) -> bool:
        virtual = self.scored.get(target)
        if virtual is not None:
            return self._allowed(caller, virtual)
        try:
            route = self.catalog.resolve(target)
        except UnknownModel:
            return False
        return _may(caller, route)


def _may(caller: Caller, route: ModelRoute) -> bool:
    return caller.may_use(route.name, route.qualified_name)
