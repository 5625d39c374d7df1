"""The SQL unit of work: one connection, one transaction, events into the outbox on commit.

One class serves every context: it implements each context's unit-of-work protocol
(`application/<context>/uow.py`), which the checks at the bottom hold it to.

Made by a wave's shared transaction (`wave=`, `SqlWaveTransaction`), it runs inside that
transaction instead: its commit writes the outbox rows and keeps its work there; the wave's
commit makes it durable.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from domains.audit.ports import AuditLog
from domains.billing.ports import LimitsRepository, RequestLog, UsageLedger
from domains.conversations.ports import (
    ConversationRepository,
    PromptRepository,
    StoredResponseRepository,
)
from domains.providers.config_change import ConfigRecord
from domains.shared.aggregate import Aggregate
from domains.shared.events import Event
from domains.teams.ports import (
    AdminTokenRepository,
    DashboardSessionRepository,
    GroupRepository,
    KeyRepository,
    OrgRepository,
    ScimTokenRepository,
    SsoConnectionRepository,
    SsoIdentityRepository,
    TeamRepository,
    UserRepository,
)
from infrastructure.db import outbox
from infrastructure.db.engine import begin_writing, end_writing
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.repositories.audit import SqlAuditLog
from infrastructure.db.repositories.billing import SqlUsageLedger
from infrastructure.db.repositories.config_record import SqlConfigRecord
from infrastructure.db.repositories.conversations import (
    SqlConversationRepository,
    SqlPromptRepository,
)
from infrastructure.db.repositories.directory import SqlGroupRepository, SqlScimTokenRepository
from infrastructure.db.repositories.limits import SqlLimitsRepository
from infrastructure.db.repositories.request_log import SqlRequestLog
from infrastructure.db.repositories.sso import (
    SqlDashboardSessionRepository,
    SqlSsoConnectionRepository,
    SqlSsoIdentityRepository,
)
from infrastructure.db.repositories.stored_responses import SqlStoredResponseRepository
from infrastructure.db.repositories.teams import (
    SqlKeyRepository,
    SqlOrgRepository,
    SqlTeamRepository,
)
from infrastructure.db.repositories.users import SqlAdminTokenRepository, SqlUserRepository

if TYPE_CHECKING:
    from application.audit.uow import AuditUnitOfWork
    from application.billing.uow import BillingUnitOfWork
    from application.conversations.uow import ConversationsUnitOfWork
    from application.providers.uow import ProvidersUnitOfWork
    from application.teams.uow import TeamsUnitOfWork


class EnclosingTransaction(Protocol):
    """What a unit of work asks of the transaction it runs inside (a wave's)."""

    async def enter(self) -> tuple[AsyncConnection, AsyncTransaction | None]: ...

    async def keep(self, savepoint: AsyncTransaction | None, events: Sequence[Event]) -> None: ...

    async def discard(self, savepoint: AsyncTransaction | None) -> None: ...

    def dispatched_on_write(self, event: Event) -> bool: ...


class SqlUnitOfWork:
    orgs: OrgRepository
    teams: TeamRepository
    keys: KeyRepository
    users: UserRepository
    admin_tokens: AdminTokenRepository
    groups: GroupRepository
    scim_tokens: ScimTokenRepository
    sso_connections: SsoConnectionRepository
    sso_identities: SsoIdentityRepository
    dashboard_sessions: DashboardSessionRepository
    usage: UsageLedger
    requests: RequestLog
    limits: LimitsRepository
    audit: AuditLog
    config: ConfigRecord
    conversations: ConversationRepository
    prompts: PromptRepository
    responses: StoredResponseRepository

    def __init__(
        self, engine: AsyncEngine, codec: EventCodec, *, wave: EnclosingTransaction | None = None
    ) -> None:
        self._engine = engine
        self._codec = codec
        self._wave = wave
        self._savepoint: AsyncTransaction | None = None
        self._settled = False
        """In a wave: whether this unit's work was kept or undone already (nothing to undo on
        leaving)."""
        self._conn: AsyncConnection | None = None
        self._seen: list[Aggregate] = []
        self._published: list[Event] = []
        self._committed: list[Event] = []

    async def __aenter__(self) -> Self:
        if self._wave is not None:
            conn, self._savepoint = await self._wave.enter()
            self._settled = False
        else:
            conn = await begin_writing(self._engine)
        self._conn = conn
        self._seen, self._published = [], []
        self.orgs = SqlOrgRepository(conn, self._seen)
        self.teams = SqlTeamRepository(conn, self._seen)
        self.keys = SqlKeyRepository(conn, self._seen)
        self.users = SqlUserRepository(conn, self._seen)
        self.admin_tokens = SqlAdminTokenRepository(conn, self._seen)
        self.groups = SqlGroupRepository(conn, self._seen)
        self.scim_tokens = SqlScimTokenRepository(conn, self._seen)
        self.sso_connections = SqlSsoConnectionRepository(conn, self._seen)
        self.sso_identities = SqlSsoIdentityRepository(conn)
        self.dashboard_sessions = SqlDashboardSessionRepository(conn)
        self.usage = SqlUsageLedger(conn)
        self.requests = SqlRequestLog(conn)
        self.limits = SqlLimitsRepository(conn)
        self.audit = SqlAuditLog(conn)
        self.config = SqlConfigRecord(conn)
        self.conversations = SqlConversationRepository(conn, self._seen)
        self.prompts = SqlPromptRepository(conn, self._seen)
        self.responses = SqlStoredResponseRepository(conn, self._seen)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._wave is not None:
            if not self._settled:
                await self._wave.discard(self._savepoint)
            return
        await end_writing(conn)

    def publish(self, *events: Event) -> None:
        self._published.extend(events)

    async def commit(self) -> None:
        conn = self._require_conn()
        events = [event for aggregate in self._seen for event in aggregate.pull_events()]
        events.extend(self._published)
        self._published = []
        if events:
            wave = self._wave
            dispatched = wave.dispatched_on_write if wave is not None else outbox.never
            await outbox.write(conn, self._codec, events, dispatched=dispatched)
        if self._wave is not None:
            await self._wave.keep(self._savepoint, events)
            self._settled = True
            return
        await conn.commit()
        self._committed.extend(events)

    async def rollback(self) -> None:
        if self._wave is not None:
            self._published = []
            if not self._settled:
                await self._wave.discard(self._savepoint)
            self._settled = True
            return
        await self._require_conn().rollback()

    def collect_new_events(self) -> list[Event]:
        events, self._committed = self._committed, []
        return events

    def _require_conn(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("the unit of work is used outside `async with`")
        return self._conn


if TYPE_CHECKING:  # the one class is every context's unit of work

    def _implements(uow: SqlUnitOfWork) -> None:
        teams: TeamsUnitOfWork = uow
        billing: BillingUnitOfWork = uow
        audit: AuditUnitOfWork = uow
        providers: ProvidersUnitOfWork = uow
        conversations: ConversationsUnitOfWork = uow
        del teams, billing, audit, providers, conversations
