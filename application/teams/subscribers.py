"""How the teams context reacts to events."""

from __future__ import annotations

from application.shared.uow import UnitOfWork
from application.teams.authenticate import KeyAuthenticator
from domains.teams.events import KeyRevoked, KeyRotated, UserChanged, UserDeleted


async def when_key_revoked_forget_key(
    events: list[KeyRevoked | KeyRotated], uow: UnitOfWork, *, authenticator: KeyAuthenticator
) -> None:
    """Revoked, or rotated (it now expires): the cached entry is stale either way."""
    for event in events:
        authenticator.forget_key(event.key_id)


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
