"""The shape of FluxRouter's configuration, and the checks msgspec cannot express.

Every struct is frozen and rejects unknown fields, so a typo in the YAML file is an error.
Defaults here are the defaults of the documented ``fluxrouter.yaml``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import urlsplit

import msgspec

PROVIDER_KINDS = ("openai", "anthropic", "gemini", "openai-compatible")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "console")
PRICE_MAX_DECIMALS = 6
SECRET_KEYS = frozenset({"api_key", "admin.key"})
"""Fields whose values must never be echoed: a bare field name matches at any depth."""

_PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


class ServerSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    workers: int = 1
    max_request_bytes: int = 8388608


class DatabaseSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str = "sqlite+aiosqlite:///./fluxrouter.db"
    pool_size: int = 10


class RedisSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str | None = None
    namespace: str = "fluxrouter"  # prefix of every key and queue, so deployments can share one


class AdminSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    key: str = ""
    """Empty: a key is generated once and printed at first start."""


class LoggingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    level: str = "info"
    format: str = "json"
    log_prompts: bool = False


class WorkerSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    embedded: bool = True
    """Run the projection worker inside the gateway when there is no redis."""


class Timeouts(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    connect: float = 5.0
    first_byte: float = 60.0
    total: float = 600.0


class Price(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """USD per one million tokens."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cached_input_per_mtok: Decimal | None = None


class ModelSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: str
    upstream: str | None = None
    max_output_tokens: int | None = None
    price: Price | None = None

    @property
    def upstream_name(self) -> str:
        return self.upstream if self.upstream is not None else self.name


class ProviderSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: str
    kind: str
    base_url: str
    models: list[ModelSettings]
    api_key: str | None = None
    timeouts: Timeouts = msgspec.field(default_factory=Timeouts)
    max_connections: int = 100
    # image URLs in requests are fetched by the gateway for kinds that need the bytes (gemini);
    # internal addresses (loopback, private networks) are refused unless this is true
    allow_internal_image_urls: bool = False
    # openai kinds: ask for the usage chunk when streaming (`stream_options.include_usage`);
    # false for servers that refuse `stream_options` (their stream usage is then estimated)
    stream_usage: bool = True


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    admin: AdminSettings = msgspec.field(default_factory=AdminSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    workers: WorkerSettings = msgspec.field(default_factory=WorkerSettings)
    providers: list[ProviderSettings] = msgspec.field(default_factory=list)


def quote(text: str, limit: int = 80) -> str:
    """``text`` as a one-line double-quoted string for error messages, shortened if long."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return json.dumps(text, ensure_ascii=False)


def is_secret(path: str) -> bool:
    """True when the key at ``path`` (``providers[0].api_key``) holds a secret."""
    return path in SECRET_KEYS or path.rsplit(".", 1)[-1] in SECRET_KEYS


def problems(settings: Settings) -> Iterator[tuple[str, str]]:
    """Yield ``(key path, what is wrong)`` for every rule the converted settings break."""
    server = settings.server
    yield from _int_range("server.port", server.port, 1, 65535)
    yield from _int_range("server.workers", server.workers, 1)
    yield from _int_range("server.max_request_bytes", server.max_request_bytes, 1)
    if server.public_url is not None:
        yield from _url("server.public_url", server.public_url)
    if not settings.database.url:
        yield "database.url", "must not be empty"
    yield from _int_range("database.pool_size", settings.database.pool_size, 1)
    if settings.redis.url is not None:
        yield from _url("redis.url", settings.redis.url, ("redis", "rediss", "unix"))
    yield from _one_of("logging.level", settings.logging.level, LOG_LEVELS)
    yield from _one_of("logging.format", settings.logging.format, LOG_FORMATS)
    seen: set[str] = set()
    for i, provider in enumerate(settings.providers):
        path = f"providers[{i}]"
        if not _PROVIDER_NAME.fullmatch(provider.name):
            wrong = f"must match [a-z0-9][a-z0-9._-]*, got {quote(provider.name)}"
            yield f"{path}.name", wrong
        elif provider.name in seen:
            yield f"{path}.name", f"duplicate provider name {quote(provider.name)}"
        seen.add(provider.name)
        yield from _one_of(f"{path}.kind", provider.kind, PROVIDER_KINDS)
        yield from _url(f"{path}.base_url", provider.base_url)
        for field in ("connect", "first_byte", "total"):
            seconds = getattr(provider.timeouts, field)
            if not (math.isfinite(seconds) and seconds > 0):
                yield f"{path}.timeouts.{field}", f"must be a number of seconds > 0, got {seconds}"
        yield from _int_range(f"{path}.max_connections", provider.max_connections, 1)
        yield from _models(path, provider.models)


def _models(provider_path: str, models: list[ModelSettings]) -> Iterator[tuple[str, str]]:
    seen: set[str] = set()
    for j, model in enumerate(models):
        path = f"{provider_path}.models[{j}]"
        if not model.name.strip():
            yield f"{path}.name", "must not be empty"
        elif model.name in seen:
            yield f"{path}.name", f"duplicate model name {quote(model.name)} within this provider"
        seen.add(model.name)
        if model.upstream is not None and not model.upstream.strip():
            yield f"{path}.upstream", "must not be empty (omit it to use the model name)"
        if model.max_output_tokens is not None:
            yield from _int_range(f"{path}.max_output_tokens", model.max_output_tokens, 1)
        if model.price is not None:
            for field in ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok"):
                amount = getattr(model.price, field)
                if amount is not None:
                    yield from _price(f"{path}.price.{field}", amount)


def _price(path: str, amount: Decimal) -> Iterator[tuple[str, str]]:
    if not amount.is_finite():
        yield path, f"must be a finite number, got {amount:f}"
    elif amount < 0:
        yield path, f"must not be negative, got {amount:f}"
    elif -min(0, int(amount.normalize().as_tuple().exponent)) > PRICE_MAX_DECIMALS:
        yield path, f"at most {PRICE_MAX_DECIMALS} decimal places allowed, got {amount:f}"


def _int_range(
    path: str, value: int, low: int, high: int | None = None
) -> Iterator[tuple[str, str]]:
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        yield path, f"must be {bound}, got {value}"


def _one_of(path: str, value: str, allowed: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    if value not in allowed:
        yield path, f"must be one of {', '.join(allowed)}"


def _url(
    path: str, value: str, schemes: tuple[str, ...] = ("http", "https")
) -> Iterator[tuple[str, str]]:
    try:
        parts = urlsplit(value)
        valid = parts.scheme in schemes and (parts.scheme == "unix" or bool(parts.hostname))
    except ValueError:
        valid = False
    if not valid:
        kinds = "an http(s)" if schemes == ("http", "https") else "a " + "/".join(schemes)
        yield path, f"must be {kinds} URL, got {quote(value)}"
