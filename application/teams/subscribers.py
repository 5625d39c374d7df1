"""How the teams context reacts to events."""

from __future__ import annotations

from application.teams.authenticate import KeyAuthenticator
from application.uow import UnitOfWork
from domains.teams.events import KeyRevoked, KeyRotated


async def when_key_revoked_forget_key(
    events: list[KeyRevoked | KeyRotated], uow: UnitOfWork, *, authenticator: KeyAuthenticator
) -> None:
    """Revoked, or rotated (it now expires): the cached entry is stale either way."""
    for event in events:
        authenticator.forget_key(event.key_id)
