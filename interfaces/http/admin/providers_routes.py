"""Providers and models: what is configured, and what each provider's API offers.

Any admin principal may read the catalog: it names no org's resources and holds no secret. Where
each provider is (its base URL: an internal host name, often) is the operator's to know: only the
admin key is shown it, and never with credentials (the configuration refuses them in a base URL).
"""

from __future__ import annotations

import msgspec
from litestar import Controller, get

from application.providers.routing.health import DeploymentHealth, health_of
from application.providers.upstream_catalog import upstream_models
from domains.shared.errors import NotFound
from infrastructure.settings.model import without_userinfo
from interfaces.http.admin.guard import require_admin
from interfaces.http.dependencies import (
    AppSettings,
    Caller,
    Completions,
    ModelCatalog,
    ProviderClients,
)


class ModelOut(msgspec.Struct):
    name: str
    upstream: str
    max_output_tokens: int | None
    priced: bool


class ProviderOut(msgspec.Struct, omit_defaults=True):
    name: str
    kind: str
    models: list[ModelOut]
    base_url: str | None = None  # the operator's admin key only


class UpstreamModelsOut(msgspec.Struct):
    provider: str
    kind: str
    configured: list[str]
    upstream: list[str] | None
    not_configured: list[str]
    missing_upstream: list[str]
    error: str | None


class ProvidersController(Controller):
    path = "/admin/v1/providers"
    guards = [require_admin]
    tags = ["Admin: providers"]

    @get("/", summary="The configured providers and models (never their keys)")
    async def list_providers(self, settings: AppSettings, principal: Caller) -> list[ProviderOut]:
        operator = principal.is_root
        return [
            ProviderOut(
                name=provider.name,
                kind=provider.kind,
                base_url=without_userinfo(provider.base_url) if operator else None,
                models=[
                    ModelOut(
                        name=model.name,
                        upstream=model.upstream_name,
                        max_output_tokens=model.max_output_tokens,
                        priced=model.price is not None,
                    )
                    for model in provider.models
                ],
            )
            for provider in settings.providers
        ]

    @get(
        "/health",
        summary="Each deployment's circuit, load, rate window and latency, as this replica sees it",
    )
    async def providers_health(self, completions: Completions) -> list[DeploymentHealth]:
        return health_of(completions.router)

    @get(
        "/{name:str}/upstream-models",
        summary="The models the provider's own API lists, against the configuration",
    )
    async def provider_upstream_models(
        self, catalog: ModelCatalog, clients: ProviderClients, name: str
    ) -> UpstreamModelsOut:
        if name not in clients:
            raise NotFound(f"provider {name[:100]} is not configured")
        (found,) = await upstream_models(catalog, clients, name)
        return UpstreamModelsOut(
            provider=found.provider,
            kind=found.kind,
            configured=found.configured,
            upstream=found.upstream,
            not_configured=found.not_configured,
            missing_upstream=found.missing_upstream,
            error=found.error,
        )
