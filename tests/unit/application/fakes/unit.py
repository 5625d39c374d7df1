"""An in-memory unit of work with the repositories of every context (the protocols of
`application/<context>/uow.py`).

Repositories write into a per-transaction stage that `commit()` applies to a shared `Store`;
leaving the `async with` block without committing drops it. Commit gathers the events of the
aggregates touched plus those published directly; `collect_new_events()` hands them out once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from domains.audit.chain import AuditRow
from domains.audit.ports import AuditLog
from domains.billing.events import UsageRecorded
from domains.billing.ports import LimitsRepository, RequestLog, UsageLedger
from domains.billing.request_log import RequestRecord
from domains.conversations.model import Conversation
from domains.conversations.ports import (
    ConversationRepository,
    PromptRepository,
    StoredResponseRepository,
)
from domains.conversations.prompts import Prompt, PromptVersion
from domains.conversations.responses import StoredResponse
from domains.providers.config_change import ConfigRecord, Summary
from domains.shared.aggregate import Aggregate
from domains.shared.events import Event
from domains.teams.groups import Group
from domains.teams.model import Org, Team, VirtualKey
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
from domains.teams.scim_tokens import ScimToken
from domains.teams.sso import SsoConnection
from domains.teams.users import AdminToken, User
from tests.unit.application.fakes.audit import FakeAuditLog
from tests.unit.application.fakes.billing import (
    FakeLimits,
    FakeRequestLog,
    FakeUsageLedger,
    LimitsTables,
)
from tests.unit.application.fakes.conversations import (
    FakeConversations,
    FakePrompts,
    FakeStoredResponses,
    StoredMessage,
)
from tests.unit.application.fakes.providers import FakeConfigRecord
from tests.unit.application.fakes.teams import (
    FakeAdminTokens,
    FakeDashboardSessions,
    FakeGroups,
    FakeKeys,
    FakeOrgs,
    FakeScimTokens,
    FakeSsoConnections,
    FakeSsoIdentities,
    FakeTeams,
    FakeUsers,
)


@dataclass
class Store:
    """What the 'database' holds across units of work."""

    orgs: dict[str, Org] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    keys: dict[str, VirtualKey] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    admin_tokens: dict[str, AdminToken] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    scim_tokens: dict[str, ScimToken] = field(default_factory=dict)
    sso_connections: dict[str, SsoConnection] = field(default_factory=dict)
    sso_identities: dict[tuple[str, str], str] = field(default_factory=dict)
    dashboard_sessions: dict[str, str] = field(default_factory=dict)  # session id: user id
    usage: dict[str, UsageRecorded] = field(default_factory=dict)  # by source_event_id
    requests: dict[str, RequestRecord] = field(default_factory=dict)  # by id
    limits: LimitsTables = field(default_factory=LimitsTables)
    audit_rows: list[AuditRow] = field(default_factory=list)
    audit_event_ids: set[str] = field(default_factory=set)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    messages: dict[tuple[str, int], StoredMessage] = field(default_factory=dict)
    prompts: dict[str, Prompt] = field(default_factory=dict)
    prompt_versions: dict[tuple[str, int], PromptVersion] = field(default_factory=dict)
    responses: dict[str, StoredResponse] = field(default_factory=dict)
    config: dict[str, Summary] = field(default_factory=dict)
    commits: int = 0


class _Part(Protocol):
    def apply(self) -> None: ...
    def drop(self) -> None: ...


class FakeUnitOfWork:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: list[Aggregate] = []
        teams = FakeTeams(self, store.teams)
        keys = FakeKeys(self, store.keys)
        users = FakeUsers(self, store.users)
        admin_tokens = FakeAdminTokens(self, store.admin_tokens)
        groups = FakeGroups(self, store.groups)
        scim_tokens = FakeScimTokens(self, store.scim_tokens)
        sso_identities = FakeSsoIdentities(store.sso_identities)
        sso_connections = FakeSsoConnections(self, store.sso_connections, identities=sso_identities)
        orgs = FakeOrgs(
            self,
            store.orgs,
            teams=teams,
            users=users,
            scim_tokens=scim_tokens,
            sso_connections=sso_connections,
        )
        dashboard_sessions = FakeDashboardSessions(store.dashboard_sessions)
        usage = FakeUsageLedger(store.usage)
        requests = FakeRequestLog(store.requests)
        limits = FakeLimits(store.limits)
        audit = FakeAuditLog(store.audit_rows, store.audit_event_ids)
        conversations = FakeConversations(self, store.conversations, store.messages)
        prompts = FakePrompts(self, store.prompts, store.prompt_versions)
        responses = FakeStoredResponses(self, store.responses)
        config = FakeConfigRecord(store.config)
        self.orgs: OrgRepository = orgs
        self.teams: TeamRepository = teams
        self.keys: KeyRepository = keys
        self.users: UserRepository = users
        self.admin_tokens: AdminTokenRepository = admin_tokens
        self.groups: GroupRepository = groups
        self.scim_tokens: ScimTokenRepository = scim_tokens
        self.sso_connections: SsoConnectionRepository = sso_connections
        self.sso_identities: SsoIdentityRepository = sso_identities
        self.dashboard_sessions: DashboardSessionRepository = dashboard_sessions
        self.usage: UsageLedger = usage
        self.requests: RequestLog = requests
        self.limits: LimitsRepository = limits
        self.audit: AuditLog = audit
        self.conversations: ConversationRepository = conversations
        self.prompts: PromptRepository = prompts
        self.responses: StoredResponseRepository = responses
        self.config: ConfigRecord = config
        self._parts: tuple[_Part, ...] = (
            orgs,
            teams,
            keys,
            users,
            admin_tokens,
            groups,
            scim_tokens,
            sso_connections,
            sso_identities,
            dashboard_sessions,
            usage,
            requests,
            limits,
            audit,
            conversations,
            prompts,
            responses,
            config,
        )
        self._published: list[Event] = []
        self._new_events: list[Event] = []
        self.committed = False
        self.rolled_back = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()  # no-op for what was committed

    def publish(self, *events: Event) -> None:
        self._published.extend(events)

    def apply(self) -> None:
        """Makes what the repositories staged the store's."""
        for part in self._parts:
            part.apply()

    async def commit(self) -> None:
        self.apply()
        events: list[Event] = []
        for aggregate in dict.fromkeys(self.seen):  # each once, in order
            events.extend(aggregate.pull_events())
        events.extend(self._published)
        self._published = []
        self._new_events.extend(events)
        self.store.commits += 1
        self.committed = True

    async def rollback(self) -> None:
        for part in self._parts:
            part.drop()
        self._published = []
        for aggregate in self.seen:
            aggregate.pull_events()
        self.seen = []
        self.rolled_back = not self.committed

    def collect_new_events(self) -> list[Event]:
        events, self._new_events = self._new_events, []
        return events


class UowFactory:
    """Makes units of work over one store and remembers them, for the tests to inspect."""

    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store()
        self.made: list[FakeUnitOfWork] = []

    def __call__(self) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.store)
        self.made.append(uow)
        return uow


if TYPE_CHECKING:
    from application.audit.uow import AuditUnitOfWork
    from application.billing.uow import BillingUnitOfWork
    from application.conversations.uow import ConversationsUnitOfWork
    from application.providers.uow import ProvidersUnitOfWork
    from application.teams.uow import TeamsUnitOfWork

    _teams: TeamsUnitOfWork = FakeUnitOfWork(Store())
    _billing: BillingUnitOfWork = FakeUnitOfWork(Store())
    _audit: AuditUnitOfWork = FakeUnitOfWork(Store())
    _providers: ProvidersUnitOfWork = FakeUnitOfWork(Store())
    _conversations: ConversationsUnitOfWork = FakeUnitOfWork(Store())
