"""The response cache, from the `cache` settings: in Redis when `redis.url` is set (shared by
every replica), else in this process's memory; its semantic index likewise (a Redis stream per
partition, mirrored in each process), when `cache.semantic.enabled` or an override asks."""

from __future__ import annotations

import importlib.util

import structlog

from application.providers.completions.cache import ResponseCache, SemanticCache
from domains.providers.response_cache import (
    CachePolicy,
    Embedder,
    ResponseCacheStore,
    SemanticIndex,
)
from infrastructure.cache.memory_store import MemoryCacheStore
from infrastructure.settings import Settings

log = structlog.get_logger("fluxrouter.cache")

REDIS_CONNECTIONS = 32
"""The most cache commands in flight at once per process (more wait for a free connection)."""


def build_response_cache(settings: Settings) -> ResponseCache | None:
    cache = settings.cache
    if not cache.enabled:
        return None
    store: ResponseCacheStore
    client = None
    if settings.redis.url:
        from infrastructure.billing.redis_pool import limit_client
        from infrastructure.cache.redis_store import RedisCacheStore

        client = limit_client(settings.redis.url, max_connections=REDIS_CONNECTIONS, timeout=2)
        store = RedisCacheStore(client, settings.redis.namespace, cache.max_entries)
    else:
        store = MemoryCacheStore(cache.max_bytes)
    semantic = cache.semantic
    default = CachePolicy(
        mode=cache.mode,
        ttl_seconds=cache.ttl_seconds,
        scope=cache.scope,
        semantic=semantic.enabled,
        semantic_scope=semantic.scope,
    )
    overrides = {}
    for override in cache.overrides:
        who = (
            f"key:{override.key}"
            if override.key is not None
            else f"team:{override.team}"
            if override.team is not None
            else f"org:{override.org}"
        )
        overrides[who] = CachePolicy(
            mode=override.mode or default.mode,
            ttl_seconds=override.ttl_seconds or default.ttl_seconds,
            scope=override.scope or default.scope,
            semantic=default.semantic if override.semantic is None else override.semantic,
            semantic_scope=override.semantic_scope or default.semantic_scope,
        )
    wanted = default.semantic or any(policy.semantic for policy in overrides.values())
    return ResponseCache(
        store,
        semantic=build_semantic_cache(settings, client) if wanted else None,
        default=default,
        overrides=overrides,
        max_entry_bytes=cache.max_entry_bytes,
    )


def build_semantic_cache(settings: Settings, client: object | None) -> SemanticCache | None:
    """The semantic cache's index and model (the model itself loads on the first question)."""
    semantic = settings.cache.semantic
    embedder: Embedder
    if semantic.embeddings != "local":
        from infrastructure.embeddings.provider_model import ProviderEmbedder

        name, _, model = semantic.embeddings.partition("/")
        provider = next(p for p in settings.providers if p.name == name)
        upstream = next((m.upstream_name for m in provider.models if m.name == model), model)
        embedder = ProviderEmbedder(provider.base_url, provider.api_key, upstream)
    elif importlib.util.find_spec("wordllama") is None:
        log.error("cache.semantic_unavailable", missing="wordllama", install="fluxrouter[semantic]")
        return None
    else:
        from infrastructure.embeddings.static_model import StaticEmbedder

        embedder = StaticEmbedder()

    index: SemanticIndex
    if client is not None:
        from infrastructure.cache.semantic_redis import RedisSemanticIndex

        index = RedisSemanticIndex(
            client,  # type: ignore[arg-type]
            settings.redis.namespace,
            max_entries=semantic.max_entries,
            max_entries_per_partition=semantic.max_entries_per_partition,
            max_partitions=semantic.max_partitions,
        )
    else:
        from infrastructure.cache.semantic_memory import MemorySemanticIndex

        index = MemorySemanticIndex(semantic.max_entries, semantic.max_entries_per_partition)
    return SemanticCache(
        index=index,
        embedder=embedder,
        threshold=semantic.threshold,
        allow_tool_results=semantic.allow_tool_results,
        allow_images=semantic.allow_images,
    )
