"""`database` and `redis`: where the gateway keeps its state.

The URLs hold passwords: an error about one names the kind of database, never the URL.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import Invalid, check_url


class DatabaseSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: Annotated[str, Meta(min_length=1)] = "sqlite+aiosqlite:///./fluxrouter.db"
    pool_size: Annotated[int, Meta(ge=1)] = 10
    migrate_url: str | None = None
    """Where migrations run (null: `url`). On PostgreSQL a different user than `url`'s owns the
    tables; `fluxrouter migrate` then grants `url`'s user only what the gateway needs."""

    def __post_init__(self) -> None:
        if self.migrate_url is None:
            return
        if not self.migrate_url.strip():
            raise Invalid("migrate_url", "must not be empty (null: the same as database.url)")
        kind, app_kind = _backend(self.migrate_url), _backend(self.url)
        if kind != app_kind:
            wrong = f"must name the same kind of database as database.url ({app_kind}), got {kind}"
            raise Invalid("migrate_url", wrong)

    @property
    def migration_url(self) -> str:
        return self.migrate_url if self.migrate_url is not None else self.url


def _backend(url: str) -> str:
    """``postgresql`` for ``postgresql+psycopg://…``: the scheme without its driver."""
    return url.partition(":")[0].partition("+")[0].strip().lower() or "no scheme"


class RedisSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str | None = None
    namespace: str = "fluxrouter"  # prefix of every key and queue, so deployments can share one

    def __post_init__(self) -> None:
        if self.url is not None:
            check_url("url", self.url, ("redis", "rediss", "unix"))
