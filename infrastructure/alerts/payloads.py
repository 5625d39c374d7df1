"""What a webhook receives for an event: its JSON (`format: json`) or a Slack-compatible
`{"text": ...}` (`format: slack`), as bytes, the same on every try."""

from __future__ import annotations

from typing import Any

import msgspec

from domains.billing.events import BudgetForecastExceeded, BudgetThresholdCrossed
from domains.providers.events import (
    DeploymentCircuitClosed,
    DeploymentCircuitOpened,
    DeploymentErrorRateHigh,
)
from domains.shared.events import Event

ALERT_NAMES: dict[type[Event], str] = {
    BudgetThresholdCrossed: "budget.threshold_crossed",
    BudgetForecastExceeded: "budget.forecast_exceeded",
    DeploymentCircuitOpened: "deployment.circuit_opened",
    DeploymentCircuitClosed: "deployment.circuit_closed",
    DeploymentErrorRateHigh: "deployment.error_rate_high",
}
"""Each event type alerted on, by the name a webhook's `events` gives it."""

ALERT_TYPES = frozenset(event.__name__ for event in ALERT_NAMES)
"""Their type names, as the outbox holds them."""

_encoder = msgspec.json.Encoder(decimal_format="number")


def alert_name(event: Event) -> str | None:
    return ALERT_NAMES.get(type(event))


def body(event: Event, delivery_id: str, webhook_format: str) -> bytes:
    """The bytes POSTed for `event`."""
    name = ALERT_NAMES[type(event)]
    if webhook_format == "slack":
        return _encoder.encode({"text": summary(event)})
    data: dict[str, Any] = msgspec.to_builtins(event)
    data.pop("type", None)
    for key in ("event_id", "occurred_at", "actor"):
        data.pop(key, None)
    return _encoder.encode(
        {
            "id": delivery_id,
            "type": name,
            "event_id": event.event_id,
            "occurred_at": event.occurred_at.isoformat(),
            "summary": summary(event),
            "data": data,
        }
    )


def summary(event: Event) -> str:
    """One line an operator reads in a chat channel."""
    if isinstance(event, BudgetThresholdCrossed):
        unit = "USD" if event.measure == "usd" else "tokens"
        return (
            f"FluxRouter: the {event.period} budget of {event.scope} {event.scope_id} crossed "
            f"{event.percent}% ({event.spent} of {event.limit} {unit} spent, window "
            f"{event.window})"
        )
    if isinstance(event, BudgetForecastExceeded):
        return (
            f"FluxRouter: the {event.period} budget of {event.scope} {event.scope_id} is "
            f"forecast to run out on {event.runs_out_on} ({event.projected} of {event.limit} USD "
            f"projected by the end of window {event.window})"
        )
    if isinstance(event, DeploymentCircuitOpened):
        why = (
            f"{event.failures} of {event.calls} calls failed"
            if event.reason == "error_rate"
            else f"{event.consecutive_failures} failures in a row"
        )
        return (
            f"FluxRouter: the circuit of deployment {event.deployment} ({event.provider}, "
            f"{event.model}) opened: {why}; no call goes to it for {event.cooldown_seconds:g} s"
        )
    if isinstance(event, DeploymentCircuitClosed):
        return (
            f"FluxRouter: the circuit of deployment {event.deployment} ({event.provider}, "
            f"{event.model}) closed: it answers again"
        )
    if isinstance(event, DeploymentErrorRateHigh):
        return (
            f"FluxRouter: {event.failures} of the last {event.calls} calls to deployment "
            f"{event.deployment} ({event.provider}, {event.model}) failed in "
            f"{event.window_seconds:g} s, at least {event.share:.0%}"
        )
    return f"FluxRouter: {type(event).__name__}"
