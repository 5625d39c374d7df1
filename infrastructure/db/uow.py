"""The SQL unit of work: one connection, one transaction, events into the outbox on commit.

Made by a wave's shared transaction (`wave=`), it runs inside that transaction instead: its
commit writes the outbox rows and keeps its work there; the wave's commit makes it durable.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domains.audit.ports import AuditLog
from domains.billing.ports import LimitsRepository, UsageLedger
from domains.conversations.ports import ConversationRepository, PromptRepository
from domains.providers.config_change import ConfigRecord
from domains.shared.aggregate import Aggregate
from domains.shared.clock import utcnow
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
from infrastructure.db.engine import begin_writing, end_writing
from infrastructure.db.event_codec import EventCodec
from infrastructure.db.recordset import as_recordset, recordset_insert
from infrastructure.db.repositories.audit import SqlAuditLog
from infrastructure.db.repositories.billing import SqlUsageLedger
from infrastructure.db.repositories.config_record import SqlConfigRecord
from infrastructure.db.repositories.conversations import (
    SqlConversationRepository,
    SqlPromptRepository,
)
from infrastructure.db.repositories.directory import SqlGroupRepository, SqlScimTokenRepository
from infrastructure.db.repositories.limits import SqlLimitsRepository
from infrastructure.db.repositories.sso import (
    SqlDashboardSessionRepository,
    SqlSsoConnectionRepository,
    SqlSsoIdentityRepository,
)
from infrastructure.db.repositories.teams import (
    SqlKeyRepository,
    SqlOrgRepository,
    SqlTeamRepository,
)
from infrastructure.db.repositories.users import SqlAdminTokenRepository, SqlUserRepository
from infrastructure.db.tables import outbox

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncTransaction

    from infrastructure.db.wave import SqlWaveTransaction


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
    limits: LimitsRepository
    audit: AuditLog
    config: ConfigRecord
    conversations: ConversationRepository
    prompts: PromptRepository

    def __init__(
        self, engine: AsyncEngine, codec: EventCodec, *, wave: SqlWaveTransaction | None = None
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
        self.limits = SqlLimitsRepository(conn)
        self.audit = SqlAuditLog(conn)
        self.config = SqlConfigRecord(conn)
        self.conversations = SqlConversationRepository(conn, self._seen)
        self.prompts = SqlPromptRepository(conn, self._seen)
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
            dispatched = wave.dispatched_on_write if wave is not None else _never
            await write_outbox(conn, self._codec, events, dispatched=dispatched)
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


_OUTBOX_COLUMNS = ("event_id", "type", "payload", "occurred_at", "stored_at", "dispatched_at")
_PG_OUTBOX_INSERT = recordset_insert(outbox, _OUTBOX_COLUMNS)


def _never(_event: Event) -> bool:
    return False


async def write_outbox(
    conn: AsyncConnection,
    codec: EventCodec,
    events: list[Event],
    *,
    dispatched: Callable[[Event], bool],
) -> None:
    """The events' outbox rows (those `dispatched` says, marked so as they are written): on
    PostgreSQL one statement of fixed text for the batch."""
    stored_at = utcnow()
    rows = [
        {
            "event_id": event.event_id,
            "type": type(event).__name__,
            "payload": codec.encode(event),
            "occurred_at": event.occurred_at,
            "stored_at": stored_at,
            "dispatched_at": stored_at if dispatched(event) else None,
        }
        for event in events
    ]
    if conn.dialect.name == "postgresql":
        await conn.execute(_PG_OUTBOX_INSERT, as_recordset(outbox, rows))
    else:
        await conn.execute(outbox.insert(), rows)
