"""Dashboard sessions: what a signed-in browser's cookie stands for, kept server-side.

The cookie carries a random secret; the store knows it only by its SHA-256. A session ends at
sign-out, after `idle` seconds unused, `absolute` seconds after sign-in whatever happens, and at
once when its person is deactivated or deleted (`when_user_deactivated_end_sessions_in_db`, or
`..._in_store` with Redis). No process keeps a session in memory: every request asks the store
(Redis or the database, shared by every replica), so a session ended anywhere is ended
everywhere.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from application.teams.subscribers import deactivates
from application.teams.uow import TeamsUnitOfWork
from domains.teams.events import UserChanged, UserDeleted


class StoredSession(msgspec.Struct, frozen=True, kw_only=True):
    id_hash: str
    user_id: str
    org_id: str
    connection_id: str
    csrf_hash: str
    created_at: float  # Unix times
    last_seen: float
    expires_at: float  # the absolute end


class SessionStore(Protocol):
    async def create(self, session: StoredSession, *, idle: float) -> None: ...

    async def get(self, id_hash: str, *, idle: float, now: float) -> StoredSession | None:
        """The live session (neither idle too long nor past its end), marked as used now."""
        ...

    async def delete(self, id_hash: str) -> StoredSession | None: ...

    async def delete_user(self, user_id: str) -> int:
        """Ends every session of the person; how many there were."""
        ...

    async def close(self) -> None: ...


def ending_sessions(events: list[UserChanged | UserDeleted]) -> list[str]:
    """The people whose sessions end: deactivated or deleted."""
    return [
        event.user_id
        for event in events
        if deactivates(event) and (isinstance(event, UserDeleted) or not event.active)
    ]


async def when_user_deactivated_end_sessions_in_db(
    events: list[UserChanged | UserDeleted], uow: TeamsUnitOfWork
) -> None:
    """Deactivated or deleted: the person's sessions kept in the database end, in the unit of
    work of the wave's own transaction. A connection of its own would wait on that transaction's
    write lock (SQLite has one writer), held until this subscriber returns."""
    users = ending_sessions(events)
    if not users:
        return
    async with uow:
        for user_id in users:
            await uow.dashboard_sessions.end_for_user(user_id)
        await uow.commit()


async def when_user_deactivated_end_sessions_in_store(
    events: list[UserChanged | UserDeleted], uow: TeamsUnitOfWork, *, store: SessionStore
) -> None:
    """Deactivated or deleted: the person's sessions kept outside the database (Redis) end
    there, on every replica at once."""
    for user_id in ending_sessions(events):
        await store.delete_user(user_id)
