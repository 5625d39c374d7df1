"""Who is calling the gateway, as the teams context vouches for it, in primitives only."""

from __future__ import annotations

import msgspec


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    key_prefix: str
    team_id: str
    org_id: str
    user_id: str | None = None
    models: tuple[str, ...] | None = None  # None: every model
    expires_at: float | None = None  # Unix time after which the key is refused
    tags: tuple[str, ...] = ()  # this request's `x-fluxrouter-tags` (routing policies match them)
    cache: str | None = None  # this request's `x-fluxrouter-cache` (on, off, refresh), if any
    log_bodies: bool = False  # its key or team opted in: its calls keep their bodies (scrubbed)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def may_use(self, *names: str) -> bool:
        return self.models is None or any(name in self.models for name in names)
