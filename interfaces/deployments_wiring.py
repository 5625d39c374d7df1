"""Where the router is composed: a deployment for each model entry of each provider, and the
routing settings (docs/routing.md)."""

from __future__ import annotations

from application.providers.routing.policy import RoutingPolicy
from application.providers.routing.router import Router
from domains.providers.model import ModelRoute
from domains.providers.routing.breaker import BreakerPolicy
from domains.providers.routing.deployment import Deployment
from infrastructure.settings import Settings


def deployments_of(settings: Settings) -> list[Deployment]:
    return [
        Deployment(
            route=ModelRoute(
                provider=provider.name,
                kind=provider.kind,
                name=model.name,
                upstream=model.upstream_name,
                max_output_tokens=model.max_output_tokens,
            ),
            weight=model.weight,
            rpm=model.rpm,
            tpm=model.tpm,
            region=model.region,
            tags=tuple(model.tags),
            cost=(
                float(model.price.input_per_mtok + model.price.output_per_mtok)
                if model.price is not None
                else 0.0
            ),
        )
        for provider in settings.providers
        for model in provider.models
    ]


def routing_policy(settings: Settings) -> RoutingPolicy:
    routing = settings.routing
    breaker = routing.circuit_breaker
    idle = {
        provider.name: seconds
        for provider in settings.providers
        if (seconds := provider.timeouts.stream_idle or routing.stream_idle_timeout) is not None
    }
    return RoutingPolicy(
        strategy=routing.strategy,
        strategies=dict(routing.strategies),
        retries=routing.retries,
        backoff_base=routing.backoff_base_seconds,
        backoff_max=routing.backoff_max_seconds,
        retry_after_max=routing.retry_after_max_seconds,
        deadline=routing.deadline_seconds,
        fallbacks={model: tuple(others) for model, others in routing.fallbacks.items()},
        context_window_fallbacks={
            model: tuple(others) for model, others in routing.context_window_fallbacks.items()
        },
        content_policy_fallbacks={
            model: tuple(others) for model, others in routing.content_policy_fallbacks.items()
        },
        stream_idle=idle,
        breaker=BreakerPolicy(
            consecutive_failures=breaker.consecutive_failures,
            error_rate=breaker.error_rate,
            min_requests=breaker.min_requests,
            window=breaker.window_seconds,
            cooldown=breaker.cooldown_seconds,
            enabled=breaker.enabled,
        ),
    )


def build_router(settings: Settings) -> Router:
    return Router(deployments_of(settings), routing_policy(settings))
