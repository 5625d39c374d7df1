"""The unit of work: one transaction over every repository, rolled back unless committed.

On commit it writes the events its aggregates recorded (and any published directly) into the
outbox in the same transaction; `collect_new_events()` then hands them to the bus.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from domains.audit.ports import AuditLog
from domains.billing.ports import LimitsRepository, UsageLedger
from domains.conversations.ports import ConversationRepository, PromptRepository
from domains.providers.config_change import ConfigRecord
from domains.shared.events import Event
from domains.teams.ports import (
    AdminTokenRepository,
    GroupRepository,
    KeyRepository,
    OrgRepository,
    ScimTokenRepository,
    SsoConnectionRepository,
    SsoIdentityRepository,
    TeamRepository,
    UserRepository,
)


class UnitOfWork(Protocol):
    orgs: OrgRepository
    teams: TeamRepository
    keys: KeyRepository
    users: UserRepository
    admin_tokens: AdminTokenRepository
    groups: GroupRepository
    scim_tokens: ScimTokenRepository
    sso_connections: SsoConnectionRepository
    sso_identities: SsoIdentityRepository
    usage: UsageLedger
    limits: LimitsRepository
    audit: AuditLog
    config: ConfigRecord
    conversations: ConversationRepository
    prompts: PromptRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def publish(self, *events: Event) -> None:
        """Events that belong to no aggregate loaded here; they go out with the commit."""
        ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    def collect_new_events(self) -> list[Event]:
        """The events of the last commit, once."""
        ...
