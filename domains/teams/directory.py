"""People as an identity provider provisions them (SCIM): created, updated, deactivated and
deleted from the directory's side.

The provider's record of a person is an `Entry`: the login name it knows them by (unique per
org, case-insensitively), the address, name and external id the gateway keeps as columns, and
every other attribute it sent, kept as sent. Changing a person bumps their `version`, which is
what a stale read-modify-write is caught by (`StaleVersion`).

Deactivation by the directory always takes effect, even for the org's last owner: the directory
is the word on who still works there, and the operator's admin key still manages the org.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domains.shared.clock import utcnow
from domains.shared.errors import Conflict, InvalidValue
from domains.shared.ids import new_id
from domains.teams.events import UserChanged, UserDeleted, UserIdentityChanged
from domains.teams.model import Org
from domains.teams.users import MAX_EMAIL_LENGTH, User, as_role

MAX_USER_NAME_LENGTH = 300
MAX_EXTERNAL_ID_LENGTH = 200
MAX_DISPLAY_NAME_LENGTH = 200


class StaleVersion(Conflict):
    """The person or group changed since the caller read it."""

    code = "stale_version"


@dataclass(frozen=True, kw_only=True)
class Entry:
    """What the directory says of a person."""

    user_name: str
    active: bool = True
    email: str | None = None
    display_name: str | None = None
    external_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.user_name.strip() or len(self.user_name) > MAX_USER_NAME_LENGTH:
            raise InvalidValue(f"`userName` must be 1 to {MAX_USER_NAME_LENGTH} characters")
        for text in (self.user_name, self.email, self.display_name, self.external_id):
            if text is not None and "\x00" in text:
                raise InvalidValue("a name, address or id must not hold a NUL character")
        if self.email is not None and len(self.email) > MAX_EMAIL_LENGTH:
            raise InvalidValue("the email address is too long")
        if self.external_id is not None and len(self.external_id) > MAX_EXTERNAL_ID_LENGTH:
            raise InvalidValue(f"`externalId` must be at most {MAX_EXTERNAL_ID_LENGTH} characters")


def _clip(name: str | None) -> str | None:
    if name is None or not name.strip():
        return None
    return name[:MAX_DISPLAY_NAME_LENGTH]


def provision(org: Org, entry: Entry, *, role: str, actor: str) -> User:
    """A new person of the org, as the directory describes them."""
    now = utcnow()
    user = User(
        id=new_id(),
        org_id=org.id,
        email=entry.email,
        display_name=_clip(entry.display_name),
        role=as_role(role),
        active=entry.active,
        external_id=entry.external_id,
        user_name=entry.user_name,
        attributes=dict(entry.attributes),
        created_at=now,
        updated_at=now,
    )
    user.record_created(actor)
    return user


def _check(user: User, expected_version: int | None) -> None:
    if user.deleted:
        raise Conflict(f"user {user.id} was deleted")
    if expected_version is not None and expected_version != user.version:
        raise StaleVersion(f"user {user.id} changed meanwhile")


def update(user: User, entry: Entry, *, actor: str, expected_version: int | None = None) -> bool:
    """Makes the person what the directory now says; False when nothing changed."""
    _check(user, expected_version)
    display_name = _clip(entry.display_name)
    identity = tuple(
        name
        for name, before, after in (
            ("user_name", user.user_name, entry.user_name),
            ("email", user.email, entry.email),
            ("external_id", user.external_id, entry.external_id),
        )
        if before != after
    )
    profile = tuple(
        name
        for name, before, after in (
            ("active", user.active, entry.active),
            ("display_name", user.display_name, display_name),
        )
        if before != after
    )
    if not identity and not profile and user.attributes == entry.attributes:
        return False
    user.user_name, user.email, user.external_id = entry.user_name, entry.email, entry.external_id
    user.active, user.display_name = entry.active, display_name
    user.attributes = dict(entry.attributes)
    user.version += 1
    user.updated_at = utcnow()
    if identity:
        user.record(
            UserIdentityChanged(
                user_id=user.id,
                org_id=user.org_id,
                user_name=user.user_name,
                email=user.email,
                external_id=user.external_id,
                changed=identity,
                actor=actor,
            )
        )
    if profile:
        user.record(
            UserChanged(
                user_id=user.id,
                org_id=user.org_id,
                role=user.role,
                active=user.active,
                display_name=user.display_name,
                changed=profile,
                actor=actor,
            )
        )
    return True


def grant_role(user: User, role: str, *, actor: str) -> bool:
    """The role the directory's groups give the person; False when it is the one they hold."""
    new_role = as_role(role)
    if user.deleted or new_role == user.role:
        return False
    user.role = new_role
    user.version += 1
    user.updated_at = utcnow()
    user.record(
        UserChanged(
            user_id=user.id,
            org_id=user.org_id,
            role=user.role,
            active=user.active,
            display_name=user.display_name,
            changed=("role",),
            actor=actor,
        )
    )
    return True


def delete(user: User, *, actor: str, expected_version: int | None = None) -> None:
    """Gone from the directory: refused everywhere from now on, and never active again."""
    _check(user, expected_version)
    now = utcnow()
    user.active = False
    user.external_id = None  # free for someone else; the attributes keep what it was
    user.deleted_at = now
    user.updated_at = now
    user.version += 1
    user.record(UserDeleted(user_id=user.id, org_id=user.org_id, actor=actor))
