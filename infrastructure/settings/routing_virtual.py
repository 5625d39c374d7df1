"""`routing`'s virtual models and tiers: the names a client may send instead of a model
(`auto`, `fast`, `cheap`, `quality`, and any defined here), how each weighs the models, and the
model each prompt tier of `auto` goes to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import FINITE, Invalid

Share = Annotated[float, Meta(ge=0, le=1)]
Weight = Annotated[float, Meta(ge=0, le=FINITE)]
VirtualName = Annotated[
    str,
    Meta(
        pattern=r"\A[a-z0-9][a-z0-9._-]*\Z",
        extra={"message": "must match [a-z0-9][a-z0-9._-]* (no provider prefix)"},
    ),
]
Target = Annotated[str, Meta(pattern=r"\S", extra={"message": "must not be empty"})]

AUTO = "auto"


class Weights(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How much each part of a model's score counts (each part is 0..1, higher is better)."""

    cost: Weight = 0.0
    quality: Weight = 0.0
    latency: Weight = 0.0

    def __post_init__(self) -> None:
        if self.cost + self.quality + self.latency <= 0:
            raise Invalid("", "must give at least one of cost, quality, latency a weight above 0")


BUILTIN_WEIGHTS: dict[str, Weights] = {
    "fast": Weights(cost=0.1, quality=0.2, latency=0.7),
    "cheap": Weights(cost=0.8, quality=0.2, latency=0.0),
    "quality": Weights(cost=0.1, quality=0.8, latency=0.1),
}
"""The scored virtual models there are by default (and `auto`, which routes by tier)."""


class VirtualModelSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One virtual model: a built-in one's weights changed or it turned off, or a new one."""

    enabled: bool = True
    weights: Weights | None = None
    """Required for a new virtual model; a built-in one keeps its own when unset. `auto` has
    none: it routes by `routing.tiers`."""
    models: list[Target] | None = None
    """The models it chooses among (names or provider/name); unset: every model."""


class SizeSplit(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`auto` by request size alone: prompts above `above_prompt_tokens` to `deep`, the rest to
    `fast` (models or virtual models)."""

    above_prompt_tokens: Annotated[int, Meta(ge=0, le=2**31)]
    fast: Target
    deep: Target


class TierSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Where `auto` sends each tier of prompt: a model (name or provider/name) or a scored
    virtual model."""

    simple: Target = "cheap"
    medium: Target = "fast"
    complex: Target = "quality"
    reasoning: Target = "quality"
    by_size: SizeSplit | None = None
    """Set: the tier is read from the prompt's size alone, the classifier is not used."""


def virtual_weights(
    builtin: bool, defined: dict[str, VirtualModelSettings]
) -> dict[str, tuple[Weights, list[str] | None]]:
    """Every enabled scored virtual model: its weights and the models it chooses among."""
    chosen: dict[str, tuple[Weights, list[str] | None]] = {}
    if builtin:
        chosen = {name: (weights, None) for name, weights in BUILTIN_WEIGHTS.items()}
    for name, virtual in defined.items():
        if name == AUTO:
            continue
        if not virtual.enabled:
            chosen.pop(name, None)
            continue
        weights = virtual.weights or BUILTIN_WEIGHTS[name]
        chosen[name] = (weights, virtual.models)
    return chosen


def auto_enabled(builtin: bool, defined: dict[str, VirtualModelSettings]) -> bool:
    auto = defined.get(AUTO)
    return auto.enabled if auto is not None else builtin


def check_virtual_models(
    builtin: bool,
    defined: dict[str, VirtualModelSettings],
    tiers: TierSettings,
    quality: dict[str, float],
    never_virtual: list[str],
    models: Sequence[tuple[str, str]],
) -> None:
    """The rules across `routing` and `providers`, with the `routing.` key that breaks one.
    `models`: every declared model as (provider, name)."""
    bare = {name for _, name in models}
    known = bare | {f"{provider}/{name}" for provider, name in models}
    for name, virtual in defined.items():
        key = f"virtual_models.{name}"
        if name == AUTO and virtual.weights is not None:
            raise _invalid(f"{key}.weights", "is not used: auto routes by routing.tiers")
        if name == AUTO and virtual.models is not None:
            raise _invalid(f"{key}.models", "is not used: auto routes by routing.tiers")
        if name not in BUILTIN_WEIGHTS and name != AUTO and virtual.weights is None:
            raise _invalid(f"{key}.weights", "is required for a virtual model of your own")
        for i, model in enumerate(virtual.models or ()):
            if model not in known:
                raise _invalid(f"{key}.models[{i}]", f"names no declared model: {model!r}")
    scored = virtual_weights(builtin, defined)
    auto = auto_enabled(builtin, defined)
    clashing = sorted(bare & (set(scored) | ({AUTO} if auto else set())))
    if clashing:
        raise _invalid(
            "virtual_models",
            f"{clashing[0]!r} is both a declared model and a virtual model: rename the model, or "
            f"turn the virtual model off (routing.virtual_models.{clashing[0]}.enabled: false)",
        )
    if auto:
        targets = [(f"tiers.{tier}", getattr(tiers, tier)) for tier in TIER_NAMES]
        if tiers.by_size is not None:
            split = tiers.by_size
            targets = [("tiers.by_size.fast", split.fast), ("tiers.by_size.deep", split.deep)]
        for key, target in targets:
            if target == AUTO:
                raise _invalid(key, "cannot be auto itself")
            if target not in known and target not in scored:
                raise _invalid(
                    key, f"names neither a declared model nor an enabled virtual model: {target!r}"
                )
    for name in quality:
        if name not in known:
            raise _invalid(f"quality.{name}", "names no declared model")
    for i, name in enumerate(never_virtual):
        if name not in known:
            raise _invalid(f"never_virtual[{i}]", f"names no declared model: {name!r}")


TIER_NAMES = ("simple", "medium", "complex", "reasoning")


def _invalid(key: str, problem: str) -> Invalid:
    return Invalid(f"routing.{key}", problem)
