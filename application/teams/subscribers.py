"""How the teams context reacts to events."""

from __future__ import annotations

from application.shared.uow import UnitOfWork
from application.teams.authenticate import KeyAuthenticator
from domains.teams.events import (
    BodiesLoggingSet,
    KeyRevoked,
    KeyRotated,
    UserChanged,
    UserDeleted,
)


async def when_key_revoked_forget_key(
    events: list[KeyRevoked | KeyRotated], uow: UnitOfWork, *, authenticator: KeyAuthenticator
) -> None:
    """Revoked, or rotated (it now expires): the cached entry is stale either way."""
    for event in events:
        authenticator.forget_key(event.key_id)


async def when_bodies_logging_set_forget_keys(
    events: list[BodiesLoggingSet], uow: UnitOfWork, *, authenticator: KeyAuthenticator
) -> None:
    """A team or a key opted in or out of keeping bodies: its cached keys are stale (another
    replica's cache sees the change within its entries' lifetime)."""
    for event in events:
        if event.scope == "key":
            authenticator.forget_key(event.target_id)
        else:
            authenticator.forget_team(event.target_id)


def deactivates(event: UserChanged | UserDeleted) -> bool:
    """Whether the event changes which of a person's keys work: deleted, or (de)activated."""
    return isinstance(event, UserDeleted) or "active" in event.changed


async def when_user_deactivated_forget_keys(
    events: list[UserChanged | UserDeleted], uow: UnitOfWork, *, authenticator: KeyAuthenticator
) -> None:
    """Deactivated, reactivated or deleted: the person's cached keys are stale."""
    for event in events:
        if deactivates(event):
            authenticator.forget_user(event.user_id)
