"""Virtual-key authentication for the hot path: an in-memory cache in front of the database.

A hit costs one SHA-256 and a dict lookup. Entries live `ttl` seconds; a revoked key is dropped
at once through `when_key_revoked_forget_key`, and the keys of a person deactivated or deleted
through `when_user_deactivated_forget_keys` (a key of an inactive person is no active key).
Unknown secrets are cached briefly too, so a flood of bad keys cannot turn into a flood of
queries; the cache is bounded. A lookup that raced a `forget_*` is not cached, so what the
database said before the change cannot outlive it. Concurrent misses for one secret share one
lookup (a burst of a new key's first requests is one query), unless a `forget_*` came between.
"""

from __future__ import annotations

import asyncio
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
        self._hashes_by_user: dict[str, set[str]] = {}
        self._epoch = 0  # bumped by every forget_*: a lookup older than that is not cached
        self._looking: dict[str, tuple[int, asyncio.Future[Caller | None]]] = {}  # by digest

    async def authenticate(self, secret: str) -> Caller | None:
        if not looks_like_virtual_key(secret):
            return None
        digest = hash_secret(secret)
        now = time.monotonic()
        entry = self._cache.get(digest)
        if entry is not None and entry[1] > now:
            caller = entry[0]
        else:
            caller = await self._look_up(digest, now)
        if caller is not None and caller.expired(time.time()):
            return None
        return caller

    def knows(self, secret: str) -> bool:
        """True when `secret` is a key already accepted and still cached (no lookup needed)."""
        if not looks_like_virtual_key(secret):
            return False
        entry = self._cache.get(hash_secret(secret))
        return entry is not None and entry[0] is not None and entry[1] > time.monotonic()

    async def _look_up(self, digest: str, now: float) -> Caller | None:
        """The database's answer for `digest`, shared by the misses that ask at the same time
        (and since the same `forget_*`); cached unless a `forget_*` came while it ran."""
        epoch = self._epoch
        pending = self._looking.get(digest)
        if pending is not None and pending[0] == epoch:
            return await asyncio.shield(pending[1])
        lookup = asyncio.ensure_future(self._lookup.find_active(digest))
        self._looking[digest] = (epoch, lookup)
        lookup.add_done_callback(lambda done: self._looked_up(digest, done))
        caller = await asyncio.shield(lookup)  # a client that leaves leaves it to the others
        if epoch == self._epoch:
            self._remember(digest, caller, now)
        return caller

    def _looked_up(self, digest: str, lookup: asyncio.Future[Caller | None]) -> None:
        pending = self._looking.get(digest)
        if pending is not None and pending[1] is lookup:
            del self._looking[digest]
        if not lookup.cancelled():
            lookup.exception()  # retrieved: each request that waited raised it already

    def forget_key(self, key_id: str) -> None:
        self._epoch += 1
        digest = self._hash_by_key_id.pop(key_id, None)
        if digest is not None:
            self._drop(digest)

    def forget_user(self, user_id: str) -> None:
        """A person was deactivated, reactivated or deleted: their keys are looked up afresh,
        and so are the secrets cached as unknown (a reactivated person's keys among them)."""
        self._epoch += 1
        for digest in self._hashes_by_user.pop(user_id, set()):
            self._drop(digest)
        for digest in [digest for digest, (caller, _) in self._cache.items() if caller is None]:
            del self._cache[digest]

    def forget_team(self, team_id: str) -> None:
        """A team's settings changed (its calls' bodies kept or not): its keys are looked up
        afresh (a rare change: the whole cache is walked)."""
        self._epoch += 1
        for digest in [
            digest
            for digest, (caller, _) in self._cache.items()
            if caller is not None and caller.team_id == team_id
        ]:
            self._drop(digest)

    def forget_all(self) -> None:
        self._epoch += 1
        self._cache.clear()
        self._hash_by_key_id.clear()
        self._hashes_by_user.clear()

    def _drop(self, digest: str) -> None:
        entry = self._cache.pop(digest, None)
        caller = entry[0] if entry is not None else None
        if caller is not None:
            self._hash_by_key_id.pop(caller.key_id, None)
            if caller.user_id is not None:
                self._hashes_by_user.get(caller.user_id, set()).discard(digest)

    def _remember(self, digest: str, caller: Caller | None, now: float) -> None:
        ttl = self._ttl if caller is not None else self._negative_ttl
        self._cache[digest] = (caller, now + ttl)
        self._cache.move_to_end(digest)
        if caller is not None:
            self._hash_by_key_id[caller.key_id] = digest
            if caller.user_id is not None:
                self._hashes_by_user.setdefault(caller.user_id, set()).add(digest)
        while len(self._cache) > self._max:
            self._drop(next(iter(self._cache)))
