"""The configuration as the audit log records it: providers, models, prices, the billing policy,
the routing policies and the rest of routing (when it is not the default), with every secret left
out (an API key shows as set, with a short fingerprint that changes when it is rotated;
credentials in a base URL are dropped). Nothing that differs between replicas of one deployment
(ports, namespaces)."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from infrastructure.settings import Settings
from infrastructure.settings.model import (
    ModelSettings,
    ProviderSettings,
    RoutingSettings,
    without_userinfo,
)
from infrastructure.settings.providers import Rates


def summary_of(settings: Settings) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "providers": {provider.name: _provider(provider) for provider in settings.providers},
        "billing": {
            "unpriced": settings.billing.unpriced,
            "default_max_output_tokens": settings.billing.default_max_output_tokens,
        },
        "admin": {"key_configured": bool(settings.admin.key)},
    }
    if settings.routing.policies:  # absent without rules: older summaries stay as they were
        summary["policies"] = {
            "order": [rule.name for rule in settings.routing.policies],
            "rules": {rule.name: msgspec.to_builtins(rule) for rule in settings.routing.policies},
        }
    routing = _routing(settings.routing)
    if routing != _routing(RoutingSettings()):  # absent when default: older summaries stay
        summary["routing"] = routing
    return summary


def _routing(routing: RoutingSettings) -> dict[str, Any]:
    """Routing's settings but its policies (summed up on their own)."""
    settings: dict[str, Any] = msgspec.to_builtins(routing)
    settings.pop("policies", None)
    return settings


def _provider(provider: ProviderSettings) -> dict[str, Any]:
    return {
        "kind": provider.kind,
        "base_url": without_userinfo(provider.base_url),
        "api_key": _fingerprint(provider.api_key),
        "stream_usage": provider.stream_usage,
        "allow_internal_image_urls": provider.allow_internal_image_urls,
        "models": {model.name: _model(model) for model in provider.models},
    }


def _model(model: ModelSettings) -> dict[str, Any]:
    price: dict[str, Any] | None = None
    if model.price is not None:
        price = _rates(model.price)
        if model.price.tiers:
            price["tiers"] = [
                {"above_input_tokens": tier.above_input_tokens, **_rates(tier)}
                for tier in model.price.tiers
            ]
    return {
        "upstream": model.upstream_name,
        "max_output_tokens": model.max_output_tokens,
        "price": price,
    }


def _rates(rates: Rates) -> dict[str, Any]:
    """A price's rates; those added since the first summary only when set, so that a
    configuration that sets none of them sums up as it always has."""
    out: dict[str, Any] = {
        "input_per_mtok": str(rates.input_per_mtok),
        "output_per_mtok": str(rates.output_per_mtok),
        "cached_input_per_mtok": None
        if rates.cached_input_per_mtok is None
        else str(rates.cached_input_per_mtok),
    }
    for name in ("cache_write_5m_per_mtok", "cache_write_1h_per_mtok", "reasoning_output_per_mtok"):
        value = getattr(rates, name)
        if value is not None:
            out[name] = str(value)
    return out


def _fingerprint(secret: str | None) -> str:
    """Tells a rotated key from the one before without revealing anything of it: 8 hex digits
    of its SHA-256 (32 bits of a hash of a random key), never the key."""
    if not secret:
        return "unset"
    return "set:" + hashlib.sha256(secret.encode()).hexdigest()[:8]
