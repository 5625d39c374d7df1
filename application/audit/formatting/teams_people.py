"""How the teams context's people, SCIM directory and single sign-on read as audit rows."""

from __future__ import annotations

from application.audit.formatting.entries import Entry, formats
from domains.audit.facts import AuditFacts
from domains.teams.events import (
    GroupChanged,
    GroupCreated,
    GroupDeleted,
    GroupMembersChanged,
    ScimTokenIssued,
    ScimTokenRevoked,
    SignedIn,
    SignedOut,
    SignInFailed,
    SsoConnectionChanged,
    SsoConnectionCreated,
    SsoConnectionDeleted,
    SsoIdentityLinked,
    SsoRoleCapped,
    UserChanged,
    UserCreated,
    UserDeleted,
    UserIdentityChanged,
)


def user_created(event: UserCreated) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="user.create",
        target=f"user:{event.user_id}",
        data={
            "org_id": event.org_id,
            "email": event.email,
            "display_name": event.display_name,
            "role": event.role,
            "active": event.active,
            "external_id": event.external_id,
            **({"user_name": event.user_name} if event.user_name is not None else {}),
        },
    )


def user_changed(event: UserChanged) -> AuditFacts:
    after = {"role": event.role, "active": event.active, "display_name": event.display_name}
    return AuditFacts(
        actor=event.actor,
        action="user.change",
        target=f"user:{event.user_id}",
        data={"org_id": event.org_id, **{name: after[name] for name in event.changed}},
    )


def user_identity_changed(event: UserIdentityChanged) -> AuditFacts:
    after = {"user_name": event.user_name, "email": event.email, "external_id": event.external_id}
    return AuditFacts(
        actor=event.actor,
        action="user.identity",
        target=f"user:{event.user_id}",
        data={"org_id": event.org_id, **{name: after[name] for name in event.changed}},
    )


def user_deleted(event: UserDeleted) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="user.delete",
        target=f"user:{event.user_id}",
        data={"org_id": event.org_id},
    )


def group_created(event: GroupCreated) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="group.create",
        target=f"group:{event.group_id}",
        data={
            "org_id": event.org_id,
            "display_name": event.display_name,
            "external_id": event.external_id,
            "team_id": event.team_id,
            "role": event.role,
        },
    )


def group_changed(event: GroupChanged) -> AuditFacts:
    after = {"display_name": event.display_name, "external_id": event.external_id}
    return AuditFacts(
        actor=event.actor,
        action="group.change",
        target=f"group:{event.group_id}",
        data={"org_id": event.org_id, **{name: after[name] for name in event.changed}},
    )


def group_members_changed(event: GroupMembersChanged) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="group.members",
        target=f"group:{event.group_id}",
        data={
            "org_id": event.org_id,
            "team_id": event.team_id,
            "added": list(event.added),
            "removed": list(event.removed),
        },
    )


def group_deleted(event: GroupDeleted) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="group.delete",
        target=f"group:{event.group_id}",
        data={"org_id": event.org_id, "team_id": event.team_id, "members": list(event.members)},
    )


def scim_token_issued(event: ScimTokenIssued) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="scim_token.create",
        target=f"scim_token:{event.token_id}",
        data={"org_id": event.org_id, "prefix": event.prefix, "role": event.role},
    )


def scim_token_revoked(event: ScimTokenRevoked) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="scim_token.revoke",
        target=f"scim_token:{event.token_id}",
        data={"org_id": event.org_id},
    )


def sso_connection_created(event: SsoConnectionCreated) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="sso_connection.create",
        target=f"sso_connection:{event.connection_id}",
        data={"org_id": event.org_id, "kind": event.kind, **event.settings},
    )


def sso_connection_changed(event: SsoConnectionChanged) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="sso_connection.change",
        target=f"sso_connection:{event.connection_id}",
        data={"org_id": event.org_id, "changed": list(event.changed), **event.settings},
    )


def sso_connection_deleted(event: SsoConnectionDeleted) -> AuditFacts:
    return AuditFacts(
        actor=event.actor,
        action="sso_connection.delete",
        target=f"sso_connection:{event.connection_id}",
        data={"org_id": event.org_id},
    )


def signed_in(event: SignedIn) -> AuditFacts:
    return AuditFacts(
        actor=f"user:{event.user_id}",
        action="sso.sign_in",
        target=f"sso_connection:{event.connection_id}",
        data={
            "org_id": event.org_id,
            "kind": event.kind,
            "subject": event.subject,
            "provisioned": event.provisioned,
            "source_ip": event.source_ip,
        },
    )


def sign_in_failed(event: SignInFailed) -> AuditFacts:
    return AuditFacts(
        actor=f"ip:{event.source_ip}",
        action="sso.sign_in_failed",
        target=f"sso_connection:{event.connection_id or 'unknown'}",
        data={
            "reason": event.reason,
            "count": event.count,
            "first_at": event.first_at.isoformat(),
            "last_at": event.last_at.isoformat(),
        },
    )


def signed_out(event: SignedOut) -> AuditFacts:
    return AuditFacts(
        actor=f"user:{event.user_id}",
        action="sso.sign_out",
        target=f"sso_connection:{event.connection_id}",
        data={"org_id": event.org_id, "source_ip": event.source_ip},
    )


def sso_identity_linked(event: SsoIdentityLinked) -> AuditFacts:
    return AuditFacts(
        actor=f"sso:{event.connection_id}",
        action="sso.link",
        target=f"user:{event.user_id}",
        data={"org_id": event.org_id, "subject": event.subject, "basis": event.basis},
    )


def sso_role_capped(event: SsoRoleCapped) -> AuditFacts:
    return AuditFacts(
        actor=f"sso:{event.connection_id}",
        action="sso.role_capped",
        target=f"user:{event.user_id}",
        data={
            "org_id": event.org_id,
            "wanted": event.wanted,
            "granted": event.granted,
            "reach": event.reach,
        },
    )


ENTRIES: tuple[Entry, ...] = (
    formats(UserCreated, user_created),
    formats(UserChanged, user_changed),
    formats(UserIdentityChanged, user_identity_changed),
    formats(UserDeleted, user_deleted),
    formats(GroupCreated, group_created),
    formats(GroupChanged, group_changed),
    formats(GroupMembersChanged, group_members_changed),
    formats(GroupDeleted, group_deleted),
    formats(ScimTokenIssued, scim_token_issued),
    formats(ScimTokenRevoked, scim_token_revoked),
    formats(SsoConnectionCreated, sso_connection_created),
    formats(SsoConnectionChanged, sso_connection_changed),
    formats(SsoConnectionDeleted, sso_connection_deleted),
    formats(SignedIn, signed_in),
    formats(SignInFailed, sign_in_failed),
    formats(SignedOut, signed_out),
    formats(SsoIdentityLinked, sso_identity_linked),
    formats(SsoRoleCapped, sso_role_capped),
)
