"""The response cache, from the `cache` settings: in Redis when `redis.url` is set (shared by
every replica), else in this process's memory."""

from __future__ import annotations

from application.providers.completions.cache import ResponseCache
from domains.providers.response_cache import CachePolicy, ResponseCacheStore
from infrastructure.cache.memory_store import MemoryCacheStore
from infrastructure.settings import Settings

REDIS_CONNECTIONS = 32
"""The most cache commands in flight at once per process (more wait for a free connection)."""


def build_response_cache(settings: Settings) -> ResponseCache | None:
    cache = settings.cache
    if not cache.enabled:
        return None
    store: ResponseCacheStore
    if settings.redis.url:
        from infrastructure.billing.redis_pool import limit_client
        from infrastructure.cache.redis_store import RedisCacheStore

        client = limit_client(settings.redis.url, max_connections=REDIS_CONNECTIONS, timeout=2)
        store = RedisCacheStore(client, settings.redis.namespace, cache.max_entries)
    else:
        store = MemoryCacheStore(cache.max_bytes)
    default = CachePolicy(mode=cache.mode, ttl_seconds=cache.ttl_seconds, scope=cache.scope)
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
        )
    return ResponseCache(
        store, default=default, overrides=overrides, max_entry_bytes=cache.max_entry_bytes
    )
