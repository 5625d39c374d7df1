"""Builds the catalog and one client per configured provider."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domains.providers.model import Catalog, ModelRoute
from domains.providers.ports import ProviderClient
from infrastructure.adapters.providers.openai import OpenAIAdapter
from infrastructure.adapters.providers.unsupported import UnsupportedAdapter
from infrastructure.adapters.providers.upstream_http import UpstreamHttp, UpstreamTimeouts
from infrastructure.settings.model import ProviderSettings


def build_catalog(providers: Sequence[ProviderSettings]) -> Catalog:
    return Catalog(
        ModelRoute(
            provider=provider.name,
            kind=provider.kind,
            name=model.name,
            upstream=model.upstream_name,
            max_output_tokens=model.max_output_tokens,
        )
        for provider in providers
        for model in provider.models
    )


def build_client(provider: ProviderSettings, redact: Callable[[str], str]) -> ProviderClient:
    if provider.kind not in ("openai", "openai-compatible"):
        return UnsupportedAdapter(provider.name, provider.kind)
    http = UpstreamHttp(
        provider.name,
        redact=redact,
        max_connections=provider.max_connections,
        timeouts=UpstreamTimeouts(
            connect=provider.timeouts.connect,
            first_byte=provider.timeouts.first_byte,
            total=provider.timeouts.total,
        ),
    )
    return OpenAIAdapter(
        http,
        base_url=provider.base_url,
        api_key=provider.api_key,
        native_base64_embeddings=provider.kind == "openai",
    )


def build_clients(
    providers: Sequence[ProviderSettings], redact: Callable[[str], str]
) -> dict[str, ProviderClient]:
    return {provider.name: build_client(provider, redact) for provider in providers}
