"""How the providers context's events read as audit rows."""

from __future__ import annotations

from application.audit.formatting.entries import Entry, formats
from domains.audit.facts import AuditFacts
from domains.providers.events import (
    CompletionFinished,
    ConfigChanged,
    DeploymentCircuitClosed,
    DeploymentCircuitOpened,
    DeploymentErrorRateHigh,
)
from domains.shared.events import Event


def config_changed(event: ConfigChanged) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="config.change",
        target="config",
        data={
            "digest": event.digest,
            "added": event.added,
            "removed": event.removed,
            "changed": event.changed,
        },
    )


def circuit_opened(event: DeploymentCircuitOpened) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="deployment.circuit_open",
        target=f"deployment:{event.deployment}",
        data={
            "provider": event.provider,
            "model": event.model,
            "reason": event.reason,
            "consecutive_failures": event.consecutive_failures,
            "calls": event.calls,
            "failures": event.failures,
            "cooldown_seconds": event.cooldown_seconds,
        },
    )


def circuit_closed(event: DeploymentCircuitClosed) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="deployment.circuit_close",
        target=f"deployment:{event.deployment}",
        data={"provider": event.provider, "model": event.model},
    )


def error_rate_high(event: DeploymentErrorRateHigh) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="deployment.error_rate_high",
        target=f"deployment:{event.deployment}",
        data={
            "provider": event.provider,
            "model": event.model,
            "calls": event.calls,
            "failures": event.failures,
            "window_seconds": event.window_seconds,
            "share": event.share,
        },
    )


ENTRIES: tuple[Entry, ...] = (
    formats(ConfigChanged, config_changed),
    formats(DeploymentCircuitOpened, circuit_opened),
    formats(DeploymentCircuitClosed, circuit_closed),
    formats(DeploymentErrorRateHigh, error_rate_high),
)

# the call is audited once charged, as billing's UsageRecorded, with its cost
NOT_AUDITED: tuple[type[Event], ...] = (CompletionFinished,)
