"""Virtual-key authentication for the hot path: an in-memory cache in front of the database.

A hit costs one SHA-256 and a dict lookup. Entries live `ttl` seconds; a revoked key is dropped
at once through `when_key_revoked_forget_key`. Unknown secrets are cached briefly too, so a flood
of bad keys cannot turn into a flood of queries; the cache is bounded.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

from domains.shared.caller import Caller
from domains.teams.model import hash_secret, looks_like_virtual_key


class KeyLookup(Protocol):
    async def find_active(self, secret_hash: str) -> Caller | None: ...


class KeyAuthenticator:
    def __init__(
        self,
        lookup: KeyLookup,
        *,
        ttl: float = 60.0,
        negative_ttl: float = 5.0,
        max_entries: int = 100_000,
    ) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._max = max_entries
        self._cache: OrderedDict[str, tuple[Caller | None, float]] = OrderedDict()
        self._hash_by_key_id: dict[str, str] = {}

    async def authenticate(self, secret: str) -> Caller | None:
        if not looks_like_virtual_key(secret):
            return None
        digest = hash_secret(secret)
        now = time.monotonic()
        entry = self._cache.get(digest)
        if entry is not None and entry[1] > now:
            caller = entry[0]
        else:
            caller = await self._lookup.find_active(digest)
            self._remember(digest, caller, now)
        if caller is not None and caller.expired(time.time()):
            return None
        return caller

    def forget_key(self, key_id: str) -> None:
        digest = self._hash_by_key_id.pop(key_id, None)
        if digest is not None:
            self._cache.pop(digest, None)

    def forget_all(self) -> None:
        self._cache.clear()
        self._hash_by_key_id.clear()

    def _remember(self, digest: str, caller: Caller | None, now: float) -> None:
        ttl = self._ttl if caller is not None else self._negative_ttl
        self._cache[digest] = (caller, now + ttl)
        self._cache.move_to_end(digest)
        if caller is not None:
            self._hash_by_key_id[caller.key_id] = digest
        while len(self._cache) > self._max:
            _, (old, _) = self._cache.popitem(last=False)
            if old is not None:
                self._hash_by_key_id.pop(old.key_id, None)
