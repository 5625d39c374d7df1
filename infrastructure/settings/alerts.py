"""`alerts`: the webhooks told when a budget threshold is crossed or a deployment's circuit
opens or closes (docs/alerts.md)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import Invalid, check_unique, quote

ALERT_EVENTS = (
    "budget.threshold_crossed",
    "budget.forecast_exceeded",
    "deployment.circuit_opened",
    "deployment.circuit_closed",
    "deployment.error_rate_high",
)
"""What a webhook may ask for (`events`); `*` is every one."""


class WebhookSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One receiver: every alert it asks for is POSTed to `url`, signed with `secret`."""

    name: Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
    """How the delivery log names it (its URL, which may hold a token, is never stored)."""
    url: Annotated[str, Meta(min_length=1, max_length=2000)]
    events: list[str] = msgspec.field(default_factory=lambda: ["*"])
    secret: Annotated[str, Meta(max_length=500)] | None = None
    """The HMAC-SHA256 key of the `X-FluxRouter-Signature` header; write it as `${VAR}`."""
    format: Literal["json", "slack"] = "json"
    """`slack`: a Slack-compatible `{"text": ...}` body instead of the event's JSON."""

    def __post_init__(self) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise Invalid("url", "must be an http(s) URL")  # not shown: it may hold a token
        if not self.events:
            raise Invalid("events", "must name at least one event (or `*`)")
        for index, event in enumerate(self.events):
            if event != "*" and event not in ALERT_EVENTS:
                known = ", ".join(ALERT_EVENTS)
                problem = f"must be `*` or one of {known}, got {quote(event)}"
                raise Invalid(f"events[{index}]", problem)

    def wants(self, event: str) -> bool:
        return "*" in self.events or event in self.events


class AlertsSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    webhooks: list[WebhookSettings] = msgspec.field(default_factory=list)
    max_attempts: Annotated[int, Meta(ge=1, le=50)] = 8
    """Tries of one delivery (the first and its retries) before it is marked failed."""
    retry_base_seconds: Annotated[float, Meta(ge=0.01, le=3600)] = 2.0
    """The wait before the first retry; each next one waits twice as long."""
    retry_max_seconds: Annotated[float, Meta(ge=0.01, le=86_400)] = 600.0
    timeout_seconds: Annotated[float, Meta(ge=0.1, le=120)] = 10.0
    """How long one POST may take, connecting included."""
    error_rate_share: Annotated[float, Meta(ge=0.01, le=1)] | None = None
    """A deployment whose failed calls in its circuit breaker's window reach this share is
    alerted on (`deployment.error_rate_high`); None: never."""
    error_rate_min_calls: Annotated[int, Meta(ge=1, le=1_000_000)] = 20
    """The calls in the window below which no error rate is alerted on."""

    def __post_init__(self) -> None:
        check_unique("webhooks[{}].name", [hook.name for hook in self.webhooks], "webhook name")
