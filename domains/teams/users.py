"""People in an org, their roles, and the admin tokens they use on the admin API.

A user belongs to one org and holds one role there: owner, admin, member or viewer. The org's
last active owner can be neither demoted nor deactivated, so an org is never left unmanaged.
`external_id` is the identity provider's id for the person (set by SCIM provisioning), as
`user_name`, the login name it knows them by, and `attributes`, what else it says of them (see
`domains.teams.directory`). A provisioned person may have no email address. A deleted user is
kept (usage and audit rows name them), inactive, with their unique names released.

An admin token's secret ("fra-" and 43 URL-safe characters) is shown once and kept only as a
SHA-256 hash, like a virtual key's. A token works only while it is unrevoked and its user active.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, get_args

from msgspec import UNSET, UnsetType

from domains.shared.aggregate import Aggregate
from domains.shared.clock import utcnow
from domains.shared.errors import Conflict, InvalidValue
from domains.shared.ids import new_id
from domains.teams.events import (
    AdminTokenIssued,
    AdminTokenRevoked,
    UserChanged,
    UserCreated,
)
from domains.teams.model import Org, issue_secret

Role = Literal["owner", "admin", "member", "viewer"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
_RANK: Final[dict[Role, int]] = {"viewer": 0, "member": 1, "admin": 2, "owner": 3}

ADMIN_TOKEN_SCHEME = "fra-"
ADMIN_TOKEN_PREFIX_LENGTH = 12  # "fra-" and the first eight random characters

MAX_EMAIL_LENGTH = 320
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+")


def manages(role: Role) -> bool:
    """Owners and admins change their org: teams, keys, users."""
    return role in ("owner", "admin")


def may_grant(granter: Role, role: Role) -> bool:
    """Whether someone with `granter` may give `role` (or act on someone who holds it).

    Owners grant any role; admins any but owner; members and viewers none.
    """
    return manages(granter) and _RANK[role] <= _RANK[granter]


def outranks(role: Role, other: Role) -> bool:
    """Whether `role` is above `other` (owner > admin > member > viewer)."""
    return _RANK[role] > _RANK[other]


def lower_of(role: Role, other: Role) -> Role:
    """The lower of two roles."""
    return other if outranks(role, other) else role


def email_key(email: str) -> str:
    """The form two addresses are compared in: an org's emails are unique case-insensitively."""
    return email.lower()


def user_name_key(user_name: str) -> str:
    """The form two login names are compared in: unique per org, case-insensitively."""
    return user_name.casefold()


def looks_like_admin_token(value: str) -> bool:
    return value.startswith(ADMIN_TOKEN_SCHEME) and len(value) >= len(ADMIN_TOKEN_SCHEME) + 32


def _valid_email(email: str) -> str:
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email):
        raise InvalidValue("`email` must be an address like name@example.com")
    return email


def _valid_display_name(name: str | None) -> str | None:
    if name is not None and not name.strip():
        raise InvalidValue("`display_name` must not be blank")
    return name


def as_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise InvalidValue(f"`role` must be one of {', '.join(ROLES)}")


@dataclass(eq=False)
class User(Aggregate):
    id: str
    org_id: str
    email: str | None
    display_name: str | None
    role: Role
    active: bool = True
    external_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    user_name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    updated_at: datetime | None = None
    deleted_at: datetime | None = None

    def __post_init__(self) -> None:
        Aggregate.__init__(self)

    @property
    def email_key(self) -> str | None:
        return email_key(self.email) if self.email is not None else None

    @property
    def user_name_key(self) -> str | None:
        return user_name_key(self.user_name) if self.user_name is not None else None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_active_owner(self) -> bool:
        return self.active and self.role == "owner"

    @classmethod
    def create(
        cls,
        org: Org,
        email: str,
        role: str,
        *,
        actor: str,
        display_name: str | None = None,
        external_id: str | None = None,
    ) -> User:
        user = cls(
            id=new_id(),
            org_id=org.id,
            email=_valid_email(email),
            display_name=_valid_display_name(display_name),
            role=as_role(role),
            external_id=external_id,
        )
        user.record_created(actor)
        return user

    def record_created(self, actor: str) -> None:
        """Records that this person was just created, as they are now."""
        self.record(
            UserCreated(
                user_id=self.id,
                org_id=self.org_id,
                email=self.email,
                display_name=self.display_name,
                role=self.role,
                active=self.active,
                external_id=self.external_id,
                user_name=self.user_name,
                actor=actor,
            )
        )

    def change(
        self,
        *,
        actor: str,
        active_owners: int,
        role: str | UnsetType = UNSET,
        active: bool | UnsetType = UNSET,
        display_name: str | UnsetType | None = UNSET,
    ) -> bool:
        """Applies what is given; False when nothing changed (and nothing is recorded).

        `active_owners` is how many active owners the org has now, this user included if they
        are one: the last of them keeps the role and stays active.
        """
        new_role = self.role if isinstance(role, UnsetType) else as_role(role)
        new_active = self.active if isinstance(active, UnsetType) else active
        new_name = (
            self.display_name
            if isinstance(display_name, UnsetType)
            else _valid_display_name(display_name)
        )
        changed = tuple(
            name
            for name, before, after in (
                ("role", self.role, new_role),
                ("active", self.active, new_active),
                ("display_name", self.display_name, new_name),
            )
            if before != after
        )
        if not changed:
            return False
        if self.deleted:
            raise Conflict(f"user {self.id} was deleted")
        stays_owner = new_active and new_role == "owner"
        if self.is_active_owner and not stays_owner and active_owners <= 1:
            raise Conflict("the org's last active owner can't be demoted or deactivated")
        self.role, self.active, self.display_name = new_role, new_active, new_name
        self.version += 1
        self.updated_at = utcnow()
        self.record(
            UserChanged(
                user_id=self.id,
                org_id=self.org_id,
                role=self.role,
                active=self.active,
                display_name=self.display_name,
                changed=changed,
                actor=actor,
            )
        )
        return True


@dataclass(eq=False)
class AdminToken(Aggregate):
    id: str
    user_id: str
    org_id: str
    prefix: str
    secret_hash: str
    created_at: datetime = field(default_factory=utcnow)
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        Aggregate.__init__(self)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def issue(cls, user: User, *, actor: str) -> tuple[AdminToken, str]:
        """A new token for an active user, and its secret: shown once, then only its hash."""
        if not user.active:
            raise Conflict(f"user {user.id} is deactivated")
        secret, prefix, secret_hash = issue_secret(ADMIN_TOKEN_SCHEME, ADMIN_TOKEN_PREFIX_LENGTH)
        token = cls(
            id=new_id(),
            user_id=user.id,
            org_id=user.org_id,
            prefix=prefix,
            secret_hash=secret_hash,
        )
        token.record(
            AdminTokenIssued(
                token_id=token.id,
                user_id=user.id,
                org_id=user.org_id,
                prefix=token.prefix,
                actor=actor,
            )
        )
        return token, secret

    def revoke(self, *, actor: str) -> None:
        if self.revoked_at is not None:
            raise Conflict(f"admin token {self.id} is already revoked")
        self.revoked_at = utcnow()
        self.record(
            AdminTokenRevoked(
                token_id=self.id, user_id=self.user_id, org_id=self.org_id, actor=actor
            )
        )
