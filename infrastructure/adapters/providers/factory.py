"""The provider registry: one line per kind, building a client from its settings.

Adding a provider kind is a wire module (pure translation), an adapter module (the HTTP calls),
and one entry in `ADAPTERS` (plus the kind's name in the settings' list of kinds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domains.providers.model import Catalog, ModelRoute
from domains.providers.ports import ProviderClient
from infrastructure.adapters.providers.anthropic import AnthropicAdapter, read_anthropic_error
from infrastructure.adapters.providers.error_reading import ErrorReader
from infrastructure.adapters.providers.gemini import GeminiAdapter, read_gemini_error
from infrastructure.adapters.providers.openai import OpenAIAdapter
from infrastructure.adapters.providers.openai_errors import read_openai_error
from infrastructure.adapters.providers.upstream_http import UpstreamHttp, UpstreamTimeouts
from infrastructure.settings.model import ProviderSettings

Builder = Callable[[ProviderSettings, UpstreamHttp], ProviderClient]

ADAPTERS: dict[str, tuple[ErrorReader, Builder]] = {
    "openai": (
        read_openai_error,
        lambda p, http: OpenAIAdapter(
            http,
            base_url=p.base_url,
            api_key=p.api_key,
            native_base64_embeddings=True,
            stream_usage=p.stream_usage,
        ),
    ),
    "openai-compatible": (
        read_openai_error,
        lambda p, http: OpenAIAdapter(
            http,
            base_url=p.base_url,
            api_key=p.api_key,
            native_base64_embeddings=False,
            stream_usage=p.stream_usage,
        ),
    ),
    "anthropic": (
        read_anthropic_error,
        lambda p, http: AnthropicAdapter(
            http,
            base_url=p.base_url,
            api_key=p.api_key,
            max_output_tokens={m.upstream_name: m.max_output_tokens for m in p.models},
        ),
    ),
    "gemini": (
        read_gemini_error,
        lambda p, http: GeminiAdapter(
            http,
            base_url=p.base_url,
            api_key=p.api_key,
            allow_internal_image_urls=p.allow_internal_image_urls,
        ),
    ),
}


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


def build_client(
    provider: ProviderSettings,
    redact: Callable[[str], str],
    on_credentials_refused: Callable[[str], None] | None = None,
) -> ProviderClient:
    """`on_credentials_refused` is told the provider's name whenever the upstream refuses the
    gateway's credentials (a metric counts them)."""
    read_error, build = ADAPTERS[provider.kind]
    http = UpstreamHttp(
        provider.name,
        redact=redact,
        on_credentials_refused=on_credentials_refused,
        max_connections=provider.max_connections,
        read_error=read_error,
        timeouts=UpstreamTimeouts(
            connect=provider.timeouts.connect,
            first_byte=provider.timeouts.first_byte,
            total=provider.timeouts.total,
        ),
    )
    return build(provider, http)


def build_clients(
    providers: Sequence[ProviderSettings],
    redact: Callable[[str], str],
    on_credentials_refused: Callable[[str], None] | None = None,
) -> dict[str, ProviderClient]:
    return {
        provider.name: build_client(provider, redact, on_credentials_refused)
        for provider in providers
    }
