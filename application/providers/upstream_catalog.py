"""What each provider's own API offers, next to what the configuration declares."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from domains.providers.errors import UpstreamError
from domains.providers.model import WILDCARD, Catalog
from domains.providers.ports import ProviderClient


@dataclass(frozen=True)
class UpstreamModels:
    provider: str
    kind: str
    configured: list[str]  # upstream names of the models the configuration declares
    upstream: list[str] | None  # what the provider lists; None when it could not be asked
    error: str | None = None
    not_configured: list[str] = field(default_factory=list)  # offered, not declared
    missing_upstream: list[str] = field(default_factory=list)  # declared, not offered


async def upstream_models(
    catalog: Catalog, clients: Mapping[str, ProviderClient], provider: str | None = None
) -> list[UpstreamModels]:
    kinds: dict[str, str] = {}
    configured: dict[str, list[str]] = {}
    for route in catalog.routes():
        kinds.setdefault(route.provider, route.kind)
        names = configured.setdefault(route.provider, [])
        if route.name != WILDCARD:  # the wildcard names no model the upstream could offer
            names.append(route.upstream)
    names = [name for name in clients if provider is None or name == provider]
    return list(
        await asyncio.gather(
            *(
                _one(name, kinds.get(name, "?"), configured.get(name, []), clients[name])
                for name in names
            )
        )
    )


async def _one(
    name: str, kind: str, configured: list[str], client: ProviderClient
) -> UpstreamModels:
    try:
        offered = await client.list_models()
    except UpstreamError as error:
        return UpstreamModels(name, kind, configured, None, error=error.message)
    return UpstreamModels(
        name,
        kind,
        configured,
        offered,
        not_configured=[model for model in offered if model not in configured],
        missing_upstream=[model for model in configured if model not in offered],
    )
