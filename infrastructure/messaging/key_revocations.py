"""Key revocations reach every replica at once: published on a Redis channel, and every
gateway process listening drops the key from its authentication cache. So do a person's
deactivation, reactivation and deletion: every process drops that person's keys (a message
`user:<id>`; any other message is a key id).

A listener that loses its connection forgets its whole cache when it reconnects, since it may
have missed revocations meanwhile; the cache's TTL bounds the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from application.shared.tasks import cancel_and_wait
from application.shared.uow import UnitOfWork
from application.teams.subscribers import deactivates
from domains.teams.events import KeyRevoked, KeyRotated, UserChanged, UserDeleted

log = structlog.get_logger("fluxrouter.keys")

USER_MESSAGE = "user:"


class KeyRevocationChannel:
    def __init__(
        self,
        redis_url: str,
        namespace: str,
        *,
        forget: Callable[[str], None],
        forget_all: Callable[[], None],
        forget_user: Callable[[str], None] | None = None,
    ) -> None:
        import redis.asyncio as aioredis  # imported where Redis is configured

        self._redis = aioredis.from_url(redis_url)
        self._channel = f"{namespace}:keys:revoked"
        self._forget = forget
        self._forget_all = forget_all
        self._forget_user = forget_user
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def when_key_revoked_broadcast(
        self, events: list[KeyRevoked | KeyRotated], uow: UnitOfWork
    ) -> None:
        """A bus subscriber: tell every replica (this one included) to drop the keys."""
        for event in events:
            await self._redis.publish(self._channel, event.key_id)

    async def when_user_deactivated_broadcast(
        self, events: list[UserChanged | UserDeleted], uow: UnitOfWork
    ) -> None:
        """A bus subscriber: tell every replica (this one included) to drop the person's keys."""
        for event in events:
            if deactivates(event):
                await self._redis.publish(self._channel, f"{USER_MESSAGE}{event.user_id}")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="key-revocations")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self._redis.aclose()

    async def _listen(self) -> None:
        first = True
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    if not first:
                        self._forget_all()  # revocations may have been missed while away
                    first = False
                    self.listening.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            data = message.get("data")
                            self._received(data.decode() if isinstance(data, bytes) else str(data))
            except asyncio.CancelledError:
                raise
            except Exception as lost:  # Redis gone: said once a second, without a traceback
                self.listening.clear()
                log.warning("keys.revocation_listener_lost", error=type(lost).__name__)
                await asyncio.sleep(1.0)

    def _received(self, message: str) -> None:
        if message.startswith(USER_MESSAGE):
            if self._forget_user is not None:
                self._forget_user(message.removeprefix(USER_MESSAGE))
        else:
            self._forget(message)
