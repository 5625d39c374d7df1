"""How the teams context's orgs, teams and credentials read as audit rows."""

from __future__ import annotations

from application.audit.formatting.entries import Entry, formats
from domains.audit.facts import AuditFacts
from domains.teams.events import (
    AccessRefused,
    AdminTokenIssued,
    AdminTokenRevoked,
    BodiesLoggingSet,
    KeyChanged,
    KeyIssued,
    KeyRevoked,
    KeyRotated,
    OrgChanged,
    OrgCreated,
    OrgDeleted,
    OrgSignInDomainsSet,
    TeamChanged,
    TeamCreated,
    TeamDeleted,
    TeamRenamed,
)


def org_created(event: OrgCreated) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="org.create",
        target=f"org:{event.org_id}",
        data={"name": event.name},
    )


def org_changed(event: OrgChanged) -> AuditFacts:
    after = {"name": event.name, "metadata": event.metadata}
    return AuditFacts(
        actor=event.actor,
        action="org.change",
        target=f"org:{event.org_id}",
        data={name: after[name] for name in event.changed},
    )


def org_sign_in_domains_set(event: OrgSignInDomainsSet) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="org.sign_in_domains",
        target=f"org:{event.org_id}",
        data={"domains": list(event.domains)},
    )


def org_deleted(event: OrgDeleted) -> AuditFacts:
    return AuditFacts(actor=event.actor, action="org.delete", target=f"org:{event.org_id}", data={})


def team_created(event: TeamCreated) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="team.create",
        target=f"team:{event.team_id}",
        data={"org_id": event.org_id, "name": event.name},
    )


def team_renamed(event: TeamRenamed) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="team.rename",
        target=f"team:{event.team_id}",
        data={"org_id": event.org_id, "name": event.name, "previous_name": event.previous_name},
    )


def team_changed(event: TeamChanged) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="team.change",
        target=f"team:{event.team_id}",
        data={"org_id": event.org_id, "metadata": event.metadata},
    )


def team_deleted(event: TeamDeleted) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="team.delete",
        target=f"team:{event.team_id}",
        data={"org_id": event.org_id, "revoked_keys": list(event.revoked_keys)},
    )


def key_issued(event: KeyIssued) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="key.create",
        target=f"key:{event.key_id}",
        data={
            "team_id": event.team_id,
            "org_id": event.org_id,
            "user_id": event.user_id,
            "name": event.name,
            "prefix": event.prefix,
            "models": list(event.models) if event.models is not None else None,
            "expires_at": event.expires_at.isoformat() if event.expires_at else None,
        },
    )


def key_revoked(event: KeyRevoked) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="key.revoke",
        target=f"key:{event.key_id}",
        data={"team_id": event.team_id, "org_id": event.org_id},
    )


def key_rotated(event: KeyRotated) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="key.rotate",
        target=f"key:{event.key_id}",
        data={
            "new_key_id": event.new_key_id,
            "team_id": event.team_id,
            "org_id": event.org_id,
            "expires_at": event.expires_at.isoformat(),
        },
    )


def key_changed(event: KeyChanged) -> AuditFacts:
    after = {"name": event.name, "metadata": event.metadata}
    return AuditFacts(
        actor=event.actor,
        action="key.change",
        target=f"key:{event.key_id}",
        data={
            "team_id": event.team_id,
            "org_id": event.org_id,
            **{name: after[name] for name in event.changed},
        },
    )


def bodies_logging_set(event: BodiesLoggingSet) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="team.bodies_logging" if event.scope == "team" else "key.bodies_logging",
        target=f"{event.scope}:{event.target_id}",
        data={"team_id": event.team_id, "org_id": event.org_id, "enabled": event.enabled},
    )


def admin_token_issued(event: AdminTokenIssued) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="admin_token.create",
        target=f"admin_token:{event.token_id}",
        data={"user_id": event.user_id, "org_id": event.org_id, "prefix": event.prefix},
    )


def admin_token_revoked(event: AdminTokenRevoked) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="admin_token.revoke",
        target=f"admin_token:{event.token_id}",
        data={"user_id": event.user_id, "org_id": event.org_id},
    )


def access_refused(event: AccessRefused) -> AuditFacts:
    return AuditFacts(
        actor=f"ip:{event.source_ip}",
        action="auth.refused",
        target=f"key-prefix:{event.prefix}" if event.prefix else "key-prefix:none",
        data={
            "surface": event.surface,
            "reason": event.reason,
            "count": event.count,
            "first_at": event.first_at.isoformat(),
            "last_at": event.last_at.isoformat(),
        },
    )


ENTRIES: tuple[Entry, ...] = (
    formats(OrgCreated, org_created),
    formats(OrgChanged, org_changed),
    formats(OrgSignInDomainsSet, org_sign_in_domains_set),
    formats(OrgDeleted, org_deleted),
    formats(TeamCreated, team_created),
    formats(TeamRenamed, team_renamed),
    formats(TeamChanged, team_changed),
    formats(TeamDeleted, team_deleted),
    formats(KeyIssued, key_issued),
    formats(KeyRevoked, key_revoked),
    formats(KeyRotated, key_rotated),
    formats(KeyChanged, key_changed),
    formats(BodiesLoggingSet, bodies_logging_set),
    formats(AdminTokenIssued, admin_token_issued),
    formats(AdminTokenRevoked, admin_token_revoked),
    formats(AccessRefused, access_refused),
)
