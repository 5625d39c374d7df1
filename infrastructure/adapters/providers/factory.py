"""The provider registry: one line per kind, building a client from its settings.

Adding a provider kind is a wire module (pure translation), an adapter module (the HTTP calls),
and one entry in `ADAPTERS` (plus the kind's name in the settings' list of kinds).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import aiohttp

from domains.providers.model import Catalog, ModelRoute
from domains.providers.ports import ProviderClient
from infrastructure.adapters.providers.anthropic import AnthropicAdapter, read_anthropic_error
from infrastructure.adapters.providers.error_reading import ErrorReader
from infrastructure.adapters.providers.gemini import GeminiAdapter, read_gemini_error
from infrastructure.adapters.providers.image_fetch import ImageFetcher, ImageLimits
from infrastructure.adapters.providers.openai import OpenAIAdapter
from infrastructure.adapters.providers.openai_errors import read_openai_error
from infrastructure.adapters.providers.upstream_http import UpstreamHttp, UpstreamTimeouts
from infrastructure.net.outbound import OutboundHttp, OutboundPolicy
from infrastructure.settings.model import OutboundSettings, ProviderSettings

Builder = Callable[[ProviderSettings, UpstreamHttp, "Outbound"], ProviderClient]


class Outbound:
    """What the adapters that fetch URLs of the caller's need: the guard's policy and the
    image limits, from `outbound` (docs/configuration.md)."""

    def __init__(self, settings: OutboundSettings, policy: OutboundPolicy | None = None) -> None:
        self.policy = policy or OutboundPolicy(settings.allow)
        images = settings.images
        self.image_limits = ImageLimits(
            max_bytes=images.max_bytes,
            max_total_bytes=images.max_total_bytes,
            max_per_request=images.max_per_request,
            concurrent_per_request=images.concurrent_per_request,
            concurrent=images.concurrent,
        )
        self.image_slots = asyncio.Semaphore(images.concurrent)

    def image_fetcher(self, provider: ProviderSettings) -> ImageFetcher:
        """The provider's image downloads, with its timeouts; from any address when the
        provider has `allow_internal_image_urls`."""
        policy = self.policy.widened(internal_allowed=provider.allow_internal_image_urls)
        timeouts = provider.timeouts
        timeout = aiohttp.ClientTimeout(
            total=timeouts.total, sock_connect=timeouts.connect, sock_read=timeouts.first_byte
        )
        http = OutboundHttp(policy, timeout=timeout, max_connections=self.image_limits.concurrent)
        return ImageFetcher(http, self.image_limits, self.image_slots)


ADAPTERS: dict[str, tuple[ErrorReader, Builder]] = {
    "openai": (
        read_openai_error,
        lambda p, http, _out: OpenAIAdapter(
            http,
            base_url=p.base_url,
            api_key=p.api_key,
            native_base64_embeddings=True,
            stream_usage=p.stream_usage,
            native_responses=True,
        ),
    ),
    "openai-compatible": (
        read_openai_error,
        lambda p, http, _out: OpenAIAdapter(
            http,
            base_url=p.base_url,
            api_key=p.api_key,
            native_base64_embeddings=False,
            stream_usage=p.stream_usage,
        ),
    ),
    "anthropic": (
        read_anthropic_error,
        lambda p, http, _out: AnthropicAdapter(
            http,
            base_url=p.base_url,
            api_key=p.api_key,
            max_output_tokens={m.upstream_name: m.max_output_tokens for m in p.models},
        ),
    ),
    "gemini": (
        read_gemini_error,
        lambda p, http, outbound: GeminiAdapter(
            http,
            base_url=p.base_url,
            api_key=p.api_key,
            images=outbound.image_fetcher(p),
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
    outbound: Outbound | None = None,
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
    return build(provider, http, outbound or Outbound(OutboundSettings()))


def build_clients(
    providers: Sequence[ProviderSettings],
    redact: Callable[[str], str],
    on_credentials_refused: Callable[[str], None] | None = None,
    outbound: OutboundSettings | None = None,
) -> dict[str, ProviderClient]:
    """`outbound`: the guard and image limits for the adapters that fetch URLs (defaults)."""
    shared = Outbound(outbound or OutboundSettings())
    return {
        provider.name: build_client(provider, redact, on_credentials_refused, shared)
        for provider in providers
    }
