"""Orgs own teams; teams own virtual keys. A key's secret is shown once and kept only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from domains.shared.aggregate import Aggregate
from domains.shared.clock import utcnow
from domains.shared.errors import Conflict, InvalidValue
from domains.shared.ids import new_id
from domains.teams.events import (
    KeyIssued,
    KeyRevoked,
    KeyRotated,
    OrgCreated,
    TeamCreated,
    TeamRenamed,
)

KEY_SCHEME = "fr-"
KEY_PREFIX_LENGTH = 11  # "fr-" and the first eight random characters: enough to tell keys apart


def hash_secret(secret: str) -> str:
    """SHA-256 of a key, hex. Keys carry 256 random bits, so no salt or stretching is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


class IssuedSecret(NamedTuple):
    """A new bearer secret: the secret itself (shown once), its prefix (shown always) and its
    hash (all that is stored)."""

    secret: str
    prefix: str
    secret_hash: str


def issue_secret(scheme: str, prefix_length: int) -> IssuedSecret:
    """`scheme` and 32 random bytes, URL-safe."""
    secret = scheme + secrets.token_urlsafe(32)
    return IssuedSecret(secret, secret[:prefix_length], hash_secret(secret))


def looks_like_virtual_key(value: str) -> bool:
    return value.startswith(KEY_SCHEME) and len(value) >= len(KEY_SCHEME) + 32


@dataclass(eq=False)
class Org(Aggregate):
    id: str
    name: str
    created_at: datetime = field(default_factory=utcnow)
    metadata: dict[str, Any] = field(default_factory=dict)
    deleted_at: datetime | None = None  # deleted: the row stays (usage and audit rows name it)
    sign_in_domains: tuple[str, ...] = ()  # see `domains.teams.sign_in_domains`

    def __post_init__(self) -> None:
        Aggregate.__init__(self)

    def require_live(self) -> None:
        """Nothing is added to a deleted org (409)."""
        if self.deleted_at is not None:
            raise Conflict(f"org {self.id} is deleted")

    @classmethod
    def create(cls, name: str, *, actor: str) -> Org:
        org = cls(id=new_id(), name=name)
        org.record(OrgCreated(org_id=org.id, name=name, actor=actor))
        return org


@dataclass(eq=False)
class Team(Aggregate):
    id: str
    org_id: str
    name: str
    created_at: datetime = field(default_factory=utcnow)
    metadata: dict[str, Any] = field(default_factory=dict)
    deleted_at: datetime | None = None  # deleted: its keys are revoked, the row stays
    log_bodies: bool = False  # its calls keep their bodies (scrubbed) in the request log

    def __post_init__(self) -> None:
        Aggregate.__init__(self)

    @classmethod
    def create(cls, org: Org, name: str, *, actor: str) -> Team:
        org.require_live()
        team = cls(id=new_id(), org_id=org.id, name=name)
        team.record(TeamCreated(team_id=team.id, org_id=org.id, name=name, actor=actor))
        return team

    def require_live(self) -> None:
        """No key is issued in a deleted team, nor is it changed (409)."""
        if self.deleted_at is not None:
            raise Conflict(f"team {self.id} is deleted")

    def rename(self, name: str, *, actor: str) -> bool:
        """False when the name is the same (and nothing is recorded)."""
        if not name.strip():
            raise InvalidValue("a team's name must not be blank")
        if name == self.name:
            return False
        previous, self.name = self.name, name
        self.record(
            TeamRenamed(
                team_id=self.id, org_id=self.org_id, name=name, previous_name=previous, actor=actor
            )
        )
        return True


@dataclass(eq=False)
class VirtualKey(Aggregate):
    id: str
    team_id: str
    org_id: str
    name: str
    prefix: str
    secret_hash: str
    user_id: str | None = None
    models: tuple[str, ...] | None = None
    created_at: datetime = field(default_factory=utcnow)
    revoked_at: datetime | None = None
    expires_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    log_bodies: bool = False  # its calls keep their bodies (scrubbed) in the request log

    def __post_init__(self) -> None:
        Aggregate.__init__(self)

    @classmethod
    def issue(
        cls,
        team: Team,
        name: str,
        *,
        actor: str,
        user_id: str | None = None,
        models: tuple[str, ...] | None = None,
        expires_at: datetime | None = None,
    ) -> tuple[VirtualKey, str]:
        """A new key and its secret. The secret exists only in the caller's hands from here on."""
        team.require_live()
        return cls._new(
            team.id,
            team.org_id,
            name,
            actor=actor,
            user_id=user_id,
            models=models,
            expires_at=expires_at,
        )

    @classmethod
    def _new(
        cls,
        team_id: str,
        org_id: str,
        name: str,
        *,
        actor: str,
        user_id: str | None,
        models: tuple[str, ...] | None,
        expires_at: datetime | None,
    ) -> tuple[VirtualKey, str]:
        if expires_at is not None and expires_at <= utcnow():
            raise InvalidValue("`expires_at` must be in the future")
        secret, prefix, secret_hash = issue_secret(KEY_SCHEME, KEY_PREFIX_LENGTH)
        key = cls(
            id=new_id(),
            team_id=team_id,
            org_id=org_id,
            name=name,
            prefix=prefix,
            secret_hash=secret_hash,
            user_id=user_id,
            models=models,
            expires_at=expires_at,
        )
        key.record(
            KeyIssued(
                key_id=key.id,
                team_id=team_id,
                org_id=org_id,
                user_id=user_id,
                name=name,
                prefix=key.prefix,
                models=models,
                actor=actor,
                expires_at=expires_at,
            )
        )
        return key, secret

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def rotate(self, *, actor: str, grace: timedelta) -> tuple[VirtualKey, str]:
        """A new key in this one's place; this one keeps working for `grace`, then expires."""
        if self.revoked_at is not None:
            raise Conflict(f"key {self.id} is revoked; issue a new one instead")
        now = utcnow()
        if self.expires_at is not None and self.expires_at <= now:
            raise Conflict(f"key {self.id} has expired; issue a new one instead")
        new_key, secret = self._new(
            self.team_id,
            self.org_id,
            self.name,
            actor=actor,
            user_id=self.user_id,
            models=self.models,
            expires_at=None,
        )
        ends = now + grace
        self.expires_at = ends if self.expires_at is None else min(self.expires_at, ends)
        self.record(
            KeyRotated(
                key_id=self.id,
                new_key_id=new_key.id,
                team_id=self.team_id,
                org_id=self.org_id,
                expires_at=self.expires_at,
                actor=actor,
            )
        )
        return new_key, secret

    def revoke(self, *, actor: str) -> None:
        if self.revoked_at is not None:
            raise Conflict(f"key {self.id} is already revoked")
        self.revoked_at = utcnow()
        self.record(
            KeyRevoked(
                key_id=self.id,
                team_id=self.team_id,
                org_id=self.org_id,
                actor=actor,
            )
        )
