"""What the teams context tells the others. Never carries a key's secret or its hash."""

from __future__ import annotations

from datetime import datetime

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
