"""`routing.health_probes`: the gateway asks each deployment now and then whether it is up,
so that a dead one is out of rotation before a caller meets it, and a healed one back in
without waiting for one (docs/routing.md, Active health probes)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import SECONDS, Invalid

ProbeKind = Literal["models", "completion", "off"]
"""`models`: the provider's model list (free, but says only that the provider and the key
answer); `completion`: a one-token completion of the deployment's model (costs that token, and
says the model answers); `off`: not probed."""

ModelName = Annotated[str, Meta(pattern=r"\S", extra={"message": "must not be empty"})]


class HealthProbeSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = False
    interval_seconds: Annotated[float, Meta(ge=0.2, le=86_400, extra=SECONDS)] = 30.0
    """How often each deployment is probed (by one replica of all, when they share Redis)."""
    timeout_seconds: Annotated[float, Meta(ge=0.05, le=600, extra=SECONDS)] = 5.0
    """A probe not answered by then failed."""
    probe: ProbeKind = "models"
    """How a deployment is probed, unless `models` says otherwise for its model."""
    models: dict[ModelName, ProbeKind] = msgspec.field(default_factory=dict)
    """How the deployments of a model (`name`) or one deployment (`provider/name`) are probed."""
    prompt: Annotated[str, Meta(min_length=1, max_length=200)] = "ping"
    """What a `completion` probe asks (for one token of answer)."""

    def __post_init__(self) -> None:
        if self.timeout_seconds > self.interval_seconds:
            raise Invalid("timeout_seconds", "must not be above interval_seconds")

    def kind_for(self, provider: str, model: str) -> ProbeKind:
        """How the deployment `provider/model` is probed."""
        return self.models.get(f"{provider}/{model}") or self.models.get(model) or self.probe
