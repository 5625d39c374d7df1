"""What the teams context tells the others. Never carries a key's or an admin token's secret or
its hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domains.shared.events import AuditFacts, Event


class OrgCreated(Event, frozen=True, kw_only=True, tag=True):
    org_id: str
    name: str
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="org.create",
            target=f"org:{self.org_id}",
            data={"name": self.name},
        )


class TeamCreated(Event, frozen=True, kw_only=True, tag=True):
    team_id: str
    org_id: str
    name: str
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="team.create",
            target=f"team:{self.team_id}",
            data={"org_id": self.org_id, "name": self.name},
        )


class KeyIssued(Event, frozen=True, kw_only=True, tag=True):
    key_id: str
    team_id: str
    org_id: str
    user_id: str | None
    name: str
    prefix: str
    models: tuple[str, ...] | None
    actor: str
    expires_at: datetime | None = None

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="key.create",
            target=f"key:{self.key_id}",
            data={
                "team_id": self.team_id,
                "org_id": self.org_id,
                "user_id": self.user_id,
                "name": self.name,
                "prefix": self.prefix,
                "models": list(self.models) if self.models is not None else None,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            },
        )


class KeyRevoked(Event, frozen=True, kw_only=True, tag=True):
    key_id: str
    team_id: str
    org_id: str
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="key.revoke",
            target=f"key:{self.key_id}",
            data={"team_id": self.team_id, "org_id": self.org_id},
        )


class KeyRotated(Event, frozen=True, kw_only=True, tag=True):
    """A new key replaced this one, which stays valid until `expires_at` (the grace period)."""

    key_id: str
    new_key_id: str
    team_id: str
    org_id: str
    expires_at: datetime
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="key.rotate",
            target=f"key:{self.key_id}",
            data={
                "new_key_id": self.new_key_id,
                "team_id": self.team_id,
                "org_id": self.org_id,
                "expires_at": self.expires_at.isoformat(),
            },
        )


class UserCreated(Event, frozen=True, kw_only=True, tag=True):
    user_id: str
    org_id: str
    email: str | None  # None: a person provisioned without an address
    display_name: str | None
    role: str
    active: bool
    external_id: str | None
    actor: str
    user_name: str | None = None  # the identity provider's login name (SCIM)

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="user.create",
            target=f"user:{self.user_id}",
            data={
                "org_id": self.org_id,
                "email": self.email,
                "display_name": self.display_name,
                "role": self.role,
                "active": self.active,
                "external_id": self.external_id,
                **({"user_name": self.user_name} if self.user_name is not None else {}),
            },
        )


class UserChanged(Event, frozen=True, kw_only=True, tag=True):
    """A user's role, active flag or display name changed: the values after, and which changed."""

    user_id: str
    org_id: str
    role: str
    active: bool
    display_name: str | None
    changed: tuple[str, ...]
    actor: str

    def audit_facts(self) -> AuditFacts:
        after = {"role": self.role, "active": self.active, "display_name": self.display_name}
        return AuditFacts(
            actor=self.actor,
            action="user.change",
            target=f"user:{self.user_id}",
            data={"org_id": self.org_id, **{name: after[name] for name in self.changed}},
        )


class AdminTokenIssued(Event, frozen=True, kw_only=True, tag=True):
    token_id: str
    user_id: str
    org_id: str
    prefix: str
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="admin_token.create",
            target=f"admin_token:{self.token_id}",
            data={"user_id": self.user_id, "org_id": self.org_id, "prefix": self.prefix},
        )


class AdminTokenRevoked(Event, frozen=True, kw_only=True, tag=True):
    token_id: str
    user_id: str
    org_id: str
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="admin_token.revoke",
            target=f"admin_token:{self.token_id}",
            data={"user_id": self.user_id, "org_id": self.org_id},
        )


class AccessRefused(Event, frozen=True, kw_only=True, tag=True):
    """Credentials were refused: on `/v1` a virtual key, on `/admin` an admin key or token.
    Refusals alike (same surface, key prefix, reason and address) are counted together, so
    `count` of them happened between `first_at` and `last_at`. Never carries a secret: `prefix`
    is the part of a key shown at creation ("fr-" and eight characters), or empty."""

    surface: str  # "v1" | "admin" | "ws" (the WebSocket chat)
    prefix: str
    # "invalid" | "expired" | "malformed" | "missing" | "session" | "origin" | "session_key"
    reason: str
    source_ip: str
    count: int
    first_at: datetime
    last_at: datetime

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=f"ip:{self.source_ip}",
            action="auth.refused",
            target=f"key-prefix:{self.prefix}" if self.prefix else "key-prefix:none",
            data={
                "surface": self.surface,
                "reason": self.reason,
                "count": self.count,
                "first_at": self.first_at.isoformat(),
                "last_at": self.last_at.isoformat(),
            },
        )


class TeamRenamed(Event, frozen=True, kw_only=True, tag=True):
    team_id: str
    org_id: str
    name: str
    previous_name: str
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="team.rename",
            target=f"team:{self.team_id}",
            data={"org_id": self.org_id, "name": self.name, "previous_name": self.previous_name},
        )


class OrgChanged(Event, frozen=True, kw_only=True, tag=True):
    """An org's name or metadata changed: the values after, and which changed."""

    org_id: str
    name: str
    metadata: dict[str, Any]
    changed: tuple[str, ...]
    actor: str

    def audit_facts(self) -> AuditFacts:
        after = {"name": self.name, "metadata": self.metadata}
        return AuditFacts(
            actor=self.actor,
            action="org.change",
            target=f"org:{self.org_id}",
            data={name: after[name] for name in self.changed},
        )


class OrgSignInDomainsSet(Event, frozen=True, kw_only=True, tag=True):
    """The e-mail domains the org declares it owns (all of them, after the change): a sign-in
    links a person it finds by an address of one of them."""

    org_id: str
    domains: tuple[str, ...]
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="org.sign_in_domains",
            target=f"org:{self.org_id}",
            data={"domains": list(self.domains)},
        )


class OrgDeleted(Event, frozen=True, kw_only=True, tag=True):
    """The org is deleted: it held no live team, active person, SCIM token or SSO connection.
    Its row stays, so usage and audit rows still name it."""

    org_id: str
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor, action="org.delete", target=f"org:{self.org_id}", data={}
        )


class TeamChanged(Event, frozen=True, kw_only=True, tag=True):
    """A team's metadata changed (a new name is `TeamRenamed`)."""

    team_id: str
    org_id: str
    metadata: dict[str, Any]
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="team.change",
            target=f"team:{self.team_id}",
            data={"org_id": self.org_id, "metadata": self.metadata},
        )


class TeamDeleted(Event, frozen=True, kw_only=True, tag=True):
    """The team is deleted and `revoked_keys` (its keys still unrevoked) are revoked with it,
    each with its own `KeyRevoked`. Its row stays, so usage and audit rows still name it."""

    team_id: str
    org_id: str
    revoked_keys: tuple[str, ...]
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="team.delete",
            target=f"team:{self.team_id}",
            data={"org_id": self.org_id, "revoked_keys": list(self.revoked_keys)},
        )


class KeyChanged(Event, frozen=True, kw_only=True, tag=True):
    """A key's name or metadata changed: the values after, and which changed."""

    key_id: str
    team_id: str
    org_id: str
    name: str
    metadata: dict[str, Any]
    changed: tuple[str, ...]
    actor: str

    def audit_facts(self) -> AuditFacts:
        after = {"name": self.name, "metadata": self.metadata}
        return AuditFacts(
            actor=self.actor,
            action="key.change",
            target=f"key:{self.key_id}",
            data={
                "team_id": self.team_id,
                "org_id": self.org_id,
                **{name: after[name] for name in self.changed},
            },
        )


class UserIdentityChanged(Event, frozen=True, kw_only=True, tag=True):
    """The identity provider changed how it names a person: the values after, and which
    changed (`user_name`, `email`, `external_id`)."""

    user_id: str
    org_id: str
    user_name: str | None
    email: str | None
    external_id: str | None
    changed: tuple[str, ...]
    actor: str

    def audit_facts(self) -> AuditFacts:
        after = {"user_name": self.user_name, "email": self.email, "external_id": self.external_id}
        return AuditFacts(
            actor=self.actor,
            action="user.identity",
            target=f"user:{self.user_id}",
            data={"org_id": self.org_id, **{name: after[name] for name in self.changed}},
        )


class UserDeleted(Event, frozen=True, kw_only=True, tag=True):
    """Deprovisioned: the person is gone from the directory. The row stays (usage and audit
    rows name it), refused everywhere, with its login name and email free for someone else."""

    user_id: str
    org_id: str
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="user.delete",
            target=f"user:{self.user_id}",
            data={"org_id": self.org_id},
        )


class GroupCreated(Event, frozen=True, kw_only=True, tag=True):
    """A directory group, linked to a team (`team_id`) or granting a role (`role`)."""

    group_id: str
    org_id: str
    display_name: str
    external_id: str | None
    team_id: str | None
    role: str | None
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="group.create",
            target=f"group:{self.group_id}",
            data={
                "org_id": self.org_id,
                "display_name": self.display_name,
                "external_id": self.external_id,
                "team_id": self.team_id,
                "role": self.role,
            },
        )


class GroupChanged(Event, frozen=True, kw_only=True, tag=True):
    """A group's name or external id changed: the values after, and which changed."""

    group_id: str
    org_id: str
    display_name: str
    external_id: str | None
    changed: tuple[str, ...]
    actor: str

    def audit_facts(self) -> AuditFacts:
        after = {"display_name": self.display_name, "external_id": self.external_id}
        return AuditFacts(
            actor=self.actor,
            action="group.change",
            target=f"group:{self.group_id}",
            data={"org_id": self.org_id, **{name: after[name] for name in self.changed}},
        )


class GroupMembersChanged(Event, frozen=True, kw_only=True, tag=True):
    """People joined or left a group, and so its team (`team_id`) when it is linked to one."""

    group_id: str
    org_id: str
    team_id: str | None
    added: tuple[str, ...]
    removed: tuple[str, ...]
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="group.members",
            target=f"group:{self.group_id}",
            data={
                "org_id": self.org_id,
                "team_id": self.team_id,
                "added": list(self.added),
                "removed": list(self.removed),
            },
        )


class GroupDeleted(Event, frozen=True, kw_only=True, tag=True):
    """The group is gone, and its members with it; the team it was linked to stays."""

    group_id: str
    org_id: str
    team_id: str | None
    members: tuple[str, ...]
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="group.delete",
            target=f"group:{self.group_id}",
            data={"org_id": self.org_id, "team_id": self.team_id, "members": list(self.members)},
        )


class ScimTokenIssued(Event, frozen=True, kw_only=True, tag=True):
    """`role`: the minting principal's role, the most the token acts with (it acts on no one
    who outranks it)."""

    token_id: str
    org_id: str
    prefix: str
    actor: str
    role: str = "admin"  # events recorded before the role was: what the migration assumes

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="scim_token.create",
            target=f"scim_token:{self.token_id}",
            data={"org_id": self.org_id, "prefix": self.prefix, "role": self.role},
        )


class ScimTokenRevoked(Event, frozen=True, kw_only=True, tag=True):
    token_id: str
    org_id: str
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="scim_token.revoke",
            target=f"scim_token:{self.token_id}",
            data={"org_id": self.org_id},
        )


class SsoConnectionCreated(Event, frozen=True, kw_only=True, tag=True):
    """An org's single sign-on connection (`kind` "oidc" or "saml"). Never carries the client
    secret or any key: `settings` are the connection's public settings only."""

    connection_id: str
    org_id: str
    kind: str
    settings: dict[str, object]
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="sso_connection.create",
            target=f"sso_connection:{self.connection_id}",
            data={"org_id": self.org_id, "kind": self.kind, **self.settings},
        )


class SsoConnectionChanged(Event, frozen=True, kw_only=True, tag=True):
    """Which settings changed (their names; a new client secret is named, never shown) and the
    public values after."""

    connection_id: str
    org_id: str
    changed: tuple[str, ...]
    settings: dict[str, object]
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="sso_connection.change",
            target=f"sso_connection:{self.connection_id}",
            data={"org_id": self.org_id, "changed": list(self.changed), **self.settings},
        )


class SsoConnectionDeleted(Event, frozen=True, kw_only=True, tag=True):
    connection_id: str
    org_id: str
    actor: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=self.actor,
            action="sso_connection.delete",
            target=f"sso_connection:{self.connection_id}",
            data={"org_id": self.org_id},
        )


class SignedIn(Event, frozen=True, kw_only=True, tag=True):
    """A person signed in to the dashboard through an org's SSO connection (`provisioned`: the
    sign-in created them)."""

    user_id: str
    org_id: str
    connection_id: str
    kind: str
    subject: str
    provisioned: bool
    source_ip: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=f"user:{self.user_id}",
            action="sso.sign_in",
            target=f"sso_connection:{self.connection_id}",
            data={
                "org_id": self.org_id,
                "kind": self.kind,
                "subject": self.subject,
                "provisioned": self.provisioned,
                "source_ip": self.source_ip,
            },
        )


class SignInFailed(Event, frozen=True, kw_only=True, tag=True):
    """Sign-ins refused alike (same connection, reason and address) are counted together:
    `count` of them between `first_at` and `last_at`. `reason` is a short code, never a secret,
    a token or an assertion."""

    connection_id: str
    reason: str
    source_ip: str
    count: int
    first_at: datetime
    last_at: datetime

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=f"ip:{self.source_ip}",
            action="sso.sign_in_failed",
            target=f"sso_connection:{self.connection_id or 'unknown'}",
            data={
                "reason": self.reason,
                "count": self.count,
                "first_at": self.first_at.isoformat(),
                "last_at": self.last_at.isoformat(),
            },
        )


class SignedOut(Event, frozen=True, kw_only=True, tag=True):
    user_id: str
    org_id: str
    connection_id: str
    source_ip: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=f"user:{self.user_id}",
            action="sso.sign_out",
            target=f"sso_connection:{self.connection_id}",
            data={"org_id": self.org_id, "source_ip": self.source_ip},
        )


class SsoIdentityLinked(Event, frozen=True, kw_only=True, tag=True):
    """A connection's subject was linked to a person of the org, and on what ground: `created`
    (the sign-in created them), `scim` (the directory provisioned them) or `domain` (their
    address is of a domain the org declares)."""

    user_id: str
    org_id: str
    connection_id: str
    subject: str
    basis: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=f"sso:{self.connection_id}",
            action="sso.link",
            target=f"user:{self.user_id}",
            data={"org_id": self.org_id, "subject": self.subject, "basis": self.basis},
        )


class SsoRoleCapped(Event, frozen=True, kw_only=True, tag=True):
    """A sign-in would have given `wanted` (the connection's default role or its groups'), above
    what the connection may grant (`reach`: the role of whoever set it, as they are now): the
    person got `granted` instead."""

    user_id: str
    org_id: str
    connection_id: str
    wanted: str
    granted: str
    reach: str

    def audit_facts(self) -> AuditFacts:
        return AuditFacts(
            actor=f"sso:{self.connection_id}",
            action="sso.role_capped",
            target=f"user:{self.user_id}",
            data={
                "org_id": self.org_id,
                "wanted": self.wanted,
                "granted": self.granted,
                "reach": self.reach,
            },
        )
