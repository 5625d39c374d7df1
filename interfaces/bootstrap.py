"""The composition root: the one place that builds and wires everything, from settings.

`bootstrap()` does no I/O; `Container.start()` and `.stop()` run the background parts (the
completion recorder, the outbox relay, the audit checkpoint writer with its signing key and, in
the embedded shape, the Dramatiq worker).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import dramatiq
import structlog
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from application.audit.subscribers import when_event_append_audit
from application.billing import handlers as billing_handlers
from application.billing.commands import SetBudget, SetBudgetCap, SetPrice, SetRateLimit
from application.billing.subscribers import when_completion_finished_record_usage
from application.billing.unwritten_spend import unwritten_spend
from application.bus import Handler, MessageBus, Subscriber
from application.conversations import handlers as conversation_handlers
from application.conversations.commands import (
    CreatePrompt,
    DeleteConversation,
    DeletePrompt,
    PublishPromptVersion,
    RecordTurn,
)
from application.providers.commands import RecordCompletions
from application.providers.completions.admit import CallAdmission
from application.providers.completions.pipeline import CompletionPipeline
from application.providers.completions.upstream import ProviderCalls
from application.providers.config_audit import RecordConfig, record_config
from application.providers.handlers import record_completions
from application.providers.recorder import CompletionRecorder
from application.shared.coalescer import Coalescer
from application.shared.record_events import RecordEvents, record_events
from application.shared.refusal_throttle import RefusalThrottle
from application.shared.tasks import cancel_and_wait
from application.teams import (
    directory_handlers,
    management_handlers,
    sso_handlers,
    user_handlers,
)
from application.teams import handlers as teams_handlers
from application.teams.authenticate import KeyAuthenticator
from application.teams.commands import (
    ChangeKey,
    ChangeOrg,
    ChangeTeam,
    CreateOrg,
    CreateTeam,
    DeleteOrg,
    DeleteTeam,
    IssueKey,
    RevokeKey,
    RotateKey,
)
from application.teams.dashboard_sessions import (
    when_user_deactivated_end_sessions_in_db,
    when_user_deactivated_end_sessions_in_store,
)
from application.teams.directory_commands import (
    ChangeGroup,
    CreateGroup,
    DeleteGroup,
    DeleteProvisionedUser,
    IssueScimToken,
    ProvisionUser,
    RevokeScimToken,
    UpdateProvisionedUser,
)
from application.teams.sessions import SessionAuthenticator
from application.teams.sso_commands import (
    ChangeSsoConnection,
    CreateSsoConnection,
    DeclareSignInDomains,
    DeclareSsoConnection,
    DeleteSsoConnection,
    SignInWithSso,
)
from application.teams.subscribers import (
    when_key_revoked_forget_key,
    when_user_deactivated_forget_keys,
)
from application.teams.user_commands import (
    ChangeUser,
    CreateUser,
    IssueAdminToken,
    RevokeAdminToken,
)
from application.uow import UnitOfWork
from domains.billing.budget import Amount, Budget, BudgetLedger
from domains.billing.events import BudgetSet, PriceSet, RateLimitSet
from domains.providers.events import CompletionFinished
from domains.providers.model import Catalog
from domains.providers.ports import ProviderClient
from domains.shared.events import Command, Event
from domains.teams.events import KeyRevoked, KeyRotated, UserChanged, UserDeleted
from infrastructure.adapters.providers.factory import build_catalog, build_clients
from infrastructure.audit.checkpointer import Checkpointer
from infrastructure.db.engine import create_engine, create_sync_engine
from infrastructure.db.event_codec import EventCodec, all_event_types
from infrastructure.db.repositories.teams import SqlKeyLookup
from infrastructure.db.uow import SqlUnitOfWork
from infrastructure.db.wave import SqlWaveTransaction
from infrastructure.messaging.broker import create_broker
from infrastructure.messaging.dead_letters import DeadLetters
from infrastructure.messaging.key_revocations import KeyRevocationChannel
from infrastructure.messaging.outbox_relay import OutboxRelay
from infrastructure.messaging.retry_policy import RetryPolicy
from infrastructure.observability.metrics import Metrics
from infrastructure.projections.usage import EVENT_TYPES as USAGE_EVENT_TYPES
from infrastructure.projections.usage import UsageProjector
from infrastructure.security.admin_key import ensure_admin_key
from infrastructure.security.audit_signing import SigningKey
from infrastructure.security.redaction import Redactor
from infrastructure.settings import Settings
from infrastructure.spool.claim import claim
from infrastructure.spool.reconcile import owed
from infrastructure.spool.spool import FileSpool
from infrastructure.sso.session_callers import SessionCallers
from interfaces.accounting.process import AccountingProcess, AccountingUnavailable
from interfaces.audit_wiring import start_checkpoints
from interfaces.billing_wiring import Admission, build_admission, limits_cache
from interfaces.config_summary import summary_of
from interfaces.sso_wiring import SsoServices, build_sso
from interfaces.worker.actors import Actors, declare_actors
from interfaces.ws.key_connections import KeyConnections

log = structlog.get_logger("fluxrouter.gateway")


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sync_engine: Engine
    codec: EventCodec
    bus: MessageBus
    catalog: Catalog
    clients: dict[str, ProviderClient]
    completions: CompletionPipeline
    authenticator: KeyAuthenticator
    recorder: CompletionRecorder
    relay: OutboxRelay
    metrics: Metrics
    redactor: Redactor
    broker: dramatiq.Broker
    actors: Actors
    projector: UsageProjector
    embedded_worker: bool
    limits: Admission
    refusals: Coalescer
    access_refusals: Coalescer
    refusal_throttle: RefusalThrottle
    revocations: KeyRevocationChannel | None = None
    sessions: SessionAuthenticator | None = None  # dashboard sessions on /v1/ws
    admin_digest: str | None = None
    audit_key: SigningKey | None = None
    checkpointer: Checkpointer | None = None
    sso: SsoServices | None = None  # single sign-on for the dashboard (docs/sso.md)
    accounting: AccountingProcess | None = None
    """Where the recorder's batches are written, when not in this process (`serve`)."""
    ws_keys: KeyConnections = field(default_factory=KeyConnections)
    """The WebSocket chat connections each key holds open here."""
    spool: FileSpool | None = None
    """Where this process journals the calls it serves (`serve`)."""
    _worker: dramatiq.Worker | None = field(default=None, repr=False)
    _accounting_started: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        if self.spool is not None:  # before anything that needs the database
            await self._open_spool(self.spool)
        self.admin_digest, _ = await ensure_admin_key(self.engine, self.settings.admin.key)
        await self.bus.handle(RecordConfig(summary=summary_of(self.settings)))
        self.audit_key, self.checkpointer = await start_checkpoints(
            self.settings, self.engine, writer=self.accounting is None
        )
        if self.sso is not None:
            await self.sso.start(self.bus, self.engine)
        self._start_projections()
        await self.limits.start()
        self.refusals.start()
        self.access_refusals.start()
        self.recorder.start()
        self.relay.start(self.bus.publish)
        if self.revocations is not None:
            self.revocations.start()
        if self.accounting is not None:  # started beside: the first batch waits for it
            self._accounting_started = asyncio.create_task(self._start_accounting_process())

    async def _open_spool(self, spool: FileSpool) -> None:
        """This process's spool file, and the calls the files of dead processes still owe,
        journaled here and handed to the recorder before those files are deleted."""
        await asyncio.to_thread(spool.open)
        claimed = await asyncio.to_thread(claim, spool.directory, own=spool.path)
        try:
            calls = owed(claimed.records)
            self.recorder.adopt(calls.events)
            await spool.sync()
        except BaseException:
            claimed.let_go()
            raise
        claimed.done()
        spool.counts.replayed += len(calls.finished)
        spool.counts.reconciled += len(calls.reconciled)
        spool.counts.skipped += claimed.skipped
        if claimed.records or claimed.skipped:
            log.warning(
                "spool.replayed",
                files=len(claimed.files) or None,
                finished=len(calls.finished),
                reconciled=len(calls.reconciled),
                skipped_lines=claimed.skipped,
            )
        spool.start()

    async def _start_accounting_process(self) -> None:
        assert self.accounting is not None
        try:
            await self.accounting.start()
        except AccountingUnavailable:  # the recorder keeps the calls and tries again
            log.exception("accounting.start_failed")

    def _start_projections(self) -> None:
        if self.embedded_worker:
            self._worker = dramatiq.Worker(self.broker, worker_threads=1, worker_timeout=100)
            self._worker.start()

    async def _stop_projections(self) -> None:
        if self._worker is not None:
            await asyncio.to_thread(self.broker.join, "projections", timeout=10_000)
            self._worker.stop()
            self._worker = None

    async def start_accounting(self) -> None:
        """What an accounting process runs (`interfaces.accounting.child`): the prices, the
        relay, the checkpoint writer and, embedded, the projections; no request is served."""
        self.audit_key, self.checkpointer = await start_checkpoints(self.settings, self.engine)
        self._start_projections()
        await self.limits.limits.start()
        self.relay.start(self.bus.publish)

    async def stop_accounting(self) -> None:
        await self.relay.stop()
        await self.limits.limits.stop()
        if self.checkpointer is not None:
            await self.checkpointer.stop()
        await self._release()

    async def _release(self) -> None:
        """The projections stopped, then the broker and the database engines let go."""
        await self._stop_projections()
        self.broker.close()
        await self.engine.dispose()
        self.sync_engine.dispose()

    @property
    def ledger(self) -> BudgetLedger:
        return self.limits.ledger

    async def stop(self) -> None:
        """Stops everything. With a spool, what the database has not taken is on disk first,
        and the steps that wait for the database are given `accounting.stop_flush_seconds` in
        all: a database that does not answer does not hold the shutdown."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.accounting.stop_flush_seconds
        await self.limits.stop()  # settlements run before the recorder's last flush
        await self.refusals.stop()
        await self.access_refusals.stop()
        await self.recorder.stop()
        if self.spool is not None:
            await self.spool.close(settled=self.recorder.unwritten == 0)
        started = self._accounting_started
        if started is not None and self.spool is not None:
            done, _ = await asyncio.wait({started}, timeout=max(deadline - loop.time(), 0.1))
            if not done:  # the accounting process is still starting: it is not waited for
                await cancel_and_wait(started)
        elif started is not None:
            await started
        if self.accounting is not None:
            if self.spool is not None:  # what it did not write is in the spool
                await self.accounting.stop(wait=max(deadline - loop.time(), 0.1))
            else:
                await self.accounting.stop()
        await self.relay.stop()
        if self.checkpointer is not None:
            await self.checkpointer.stop()
        if self.revocations is not None:
            await self.revocations.stop()
        if self.sso is not None:
            await self.sso.stop()
        for client in self.clients.values():
            await client.close()
        await self._release()


def redactor_for(settings: Settings) -> Redactor:
    """Scrubs the configured secrets (admin key, provider keys) and anything shaped like a key."""
    return Redactor([settings.admin.key, *(p.api_key for p in settings.providers)])


def _accounting_process(subscribers: dict[type[Event], list[Subscriber]]) -> AccountingProcess:
    """The child that writes the recorder's batches; it prices the calls, so it reloads the
    limits when this process changes them."""
    accounting = AccountingProcess()

    async def tell_accounting(_events: list[Event], _uow: UnitOfWork) -> None:
        accounting.limits_changed()

    for changed in (BudgetSet, RateLimitSet, PriceSet):
        subscribers[changed].append(tell_accounting)
    return accounting


def _relay(
    settings: Settings,
    engine: AsyncEngine,
    codec: EventCodec,
    redactor: Redactor,
    metrics: Metrics,
    *,
    enqueue: Callable[[list[str]], Awaitable[None]] | None,
) -> OutboxRelay:
    """The outbox relay with the configured retries, its dead letters and their metrics."""
    outbox = settings.outbox
    relay = OutboxRelay(
        engine,
        codec,
        enqueue=enqueue,
        projected_types=USAGE_EVENT_TYPES,
        dead_letters=DeadLetters(engine, codec, redactor),
        policy=RetryPolicy(
            max_retries=outbox.max_retries,
            base_seconds=outbox.retry_base_seconds,
            max_seconds=outbox.retry_max_seconds,
        ),
        sweep_every=outbox.sweep_every_seconds,
        on_retried=metrics.outbox_retries.inc,
        on_dead_lettered=lambda event_type: metrics.outbox_dead_lettered.labels(event_type).inc(),
    )
    metrics.watch_dead_letters(lambda: relay.pending_dead_letters)
    return relay


def _access_refusals(
    settings: Settings,
    metrics: Metrics,
    write: Callable[[Sequence[Event]], Awaitable[None]],
) -> tuple[Coalescer, RefusalThrottle]:
    """Refused credentials: coalesced into fewer and fewer rows while they go on, and paced
    per client address (docs/security.md)."""
    coalescer = Coalescer(write, longest=settings.audit.refusal_rows_longest_seconds)
    throttle = RefusalThrottle(
        per_second=settings.server.refused_credentials_per_second,
        burst=settings.server.refused_credentials_burst,
    )
    metrics.watch_refusal_throttle(lambda: throttle.throttled)
    return coalescer, throttle


def _recorder(
    settings: Settings,
    metrics: Metrics,
    accounting: AccountingProcess | None,
    bus: MessageBus,
    relay: OutboxRelay,
    *,
    spool: bool,
) -> tuple[CompletionRecorder, FileSpool | None]:
    """The completion recorder, writing through the accounting process or this process's bus,
    and, with `spool`, the spool it journals each call in first."""

    def observe(event: CompletionFinished) -> None:
        if event.status >= 400:
            metrics.upstream_errors.labels(event.provider, str(event.status)).inc()
        metrics.count_tokens(event.provider, event.model, event.input_tokens, event.output_tokens)

    async def write_here(command: Command) -> None:
        if isinstance(command, RecordCompletions) and command.replayed:
            stored = await relay.stored([call.event_id for call in command.completions])
            left = tuple(call for call in command.completions if call.event_id not in stored)
            if not left:
                return
            command = RecordCompletions(completions=left)
        await bus.handle(command)

    journal = (
        FileSpool(
            Path(settings.accounting.spool_dir),
            fsync_every=settings.accounting.spool_fsync_seconds,
            segment_bytes=settings.accounting.spool_segment_bytes,
        )
        if spool
        else None
    )
    recorder = CompletionRecorder(
        accounting.handle if accounting is not None else write_here,
        observe=observe,
        journal=journal,
        stop_flush=settings.accounting.stop_flush_seconds,
    )
    metrics.watch_accounting(
        lambda: recorder.backlog, lambda: recorder.dropped, lambda: recorder.held_back
    )
    if journal is not None:
        metrics.watch_spool(lambda: journal.counts, lambda: journal.open_calls)
    return recorder, journal


def bootstrap(
    settings: Settings, *, accounting_process: bool = False, spool: bool = False
) -> Container:
    """`accounting_process`: the recorder's batches are written by a child process
    (`interfaces.accounting`), as `serve` runs; else in this process. `spool`: the calls served
    are journaled in `accounting.spool_dir` first, as `serve` does."""
    redactor = redactor_for(settings)
    engine = create_engine(settings.database.url, pool_size=settings.database.pool_size)
    sync_engine = create_sync_engine(settings.database.url)
    codec = EventCodec(all_event_types())
    metrics = Metrics()

    broker = create_broker(settings.redis.url, namespace=settings.redis.namespace)
    projector = UsageProjector(sync_engine, codec)
    actors = declare_actors(broker, projector)
    embedded = settings.redis.url is None and settings.workers.embedded

    async def enqueue(payloads: list[str]) -> None:
        if settings.redis.url:
            await asyncio.to_thread(actors.project_events.send, payloads)
        else:
            actors.project_events.send(payloads)

    relay = _relay(
        settings,
        engine,
        codec,
        redactor,
        metrics,
        enqueue=enqueue if (embedded or settings.redis.url) else None,
    )
    key_lookup = SqlKeyLookup(engine)
    authenticator = KeyAuthenticator(key_lookup)
    handlers: dict[type[Command], Handler] = {
        CreateOrg: teams_handlers.create_org,
        CreateTeam: teams_handlers.create_team,
        IssueKey: teams_handlers.issue_key,
        RevokeKey: teams_handlers.revoke_key,
        RotateKey: teams_handlers.rotate_key,
        ChangeOrg: management_handlers.change_org,
        DeleteOrg: management_handlers.delete_org,
        ChangeTeam: management_handlers.change_team,
        DeleteTeam: management_handlers.delete_team,
        ChangeKey: management_handlers.change_key,
        CreateUser: user_handlers.create_user,
        ChangeUser: user_handlers.change_user,
        IssueAdminToken: user_handlers.issue_admin_token,
        RevokeAdminToken: user_handlers.revoke_admin_token,
        ProvisionUser: directory_handlers.provision_user,
        UpdateProvisionedUser: directory_handlers.update_provisioned_user,
        DeleteProvisionedUser: directory_handlers.delete_provisioned_user,
        CreateGroup: directory_handlers.create_group,
        ChangeGroup: directory_handlers.change_group,
        DeleteGroup: directory_handlers.delete_group,
        IssueScimToken: directory_handlers.issue_scim_token,
        RevokeScimToken: directory_handlers.revoke_scim_token,
        CreateSsoConnection: sso_handlers.create_sso_connection,
        ChangeSsoConnection: sso_handlers.change_sso_connection,
        DeleteSsoConnection: sso_handlers.delete_sso_connection,
        DeclareSsoConnection: sso_handlers.declare_sso_connection,
        SignInWithSso: sso_handlers.sign_in_with_sso,
        DeclareSignInDomains: sso_handlers.declare_sign_in_domains,
        SetBudget: billing_handlers.set_budget,
        SetBudgetCap: billing_handlers.set_budget_cap,
        SetRateLimit: billing_handlers.set_rate_limit,
        SetPrice: billing_handlers.set_price,
        RecordCompletions: record_completions,
        RecordEvents: record_events,
        RecordConfig: record_config,
        RecordTurn: conversation_handlers.record_turn,
        DeleteConversation: conversation_handlers.delete_conversation,
        CreatePrompt: conversation_handlers.create_prompt,
        PublishPromptVersion: conversation_handlers.publish_prompt_version,
        DeletePrompt: conversation_handlers.delete_prompt,
    }
    limits = limits_cache(settings, engine)
    subscribers: dict[type[Event], list[Subscriber]] = {
        CompletionFinished: [
            functools.partial(when_completion_finished_record_usage, prices=limits)
        ],
        BudgetSet: [limits.when_limits_changed_reload],
        RateLimitSet: [limits.when_limits_changed_reload],
        PriceSet: [limits.when_limits_changed_reload],
        KeyRevoked: [functools.partial(when_key_revoked_forget_key, authenticator=authenticator)],
        KeyRotated: [functools.partial(when_key_revoked_forget_key, authenticator=authenticator)],
        UserChanged: [
            functools.partial(when_user_deactivated_forget_keys, authenticator=authenticator)
        ],
        UserDeleted: [
            functools.partial(when_user_deactivated_forget_keys, authenticator=authenticator)
        ],
        Event: [when_event_append_audit],
    }
    sso = build_sso(settings, engine)
    end_sessions: Subscriber = when_user_deactivated_end_sessions_in_db
    if not sso.sessions_in_database:
        end_sessions = functools.partial(
            when_user_deactivated_end_sessions_in_store, store=sso.sessions.store
        )
    subscribers[UserChanged].append(end_sessions)
    subscribers[UserDeleted].append(end_sessions)
    revocations = None
    if settings.redis.url:
        revocations = KeyRevocationChannel(
            settings.redis.url,
            settings.redis.namespace,
            forget=authenticator.forget_key,
            forget_all=authenticator.forget_all,
            forget_user=authenticator.forget_user,
        )
        subscribers[KeyRevoked].append(revocations.when_key_revoked_broadcast)
        subscribers[KeyRotated].append(revocations.when_key_revoked_broadcast)
        subscribers[UserChanged].append(revocations.when_user_deactivated_broadcast)
        subscribers[UserDeleted].append(revocations.when_user_deactivated_broadcast)
    accounting = _accounting_process(subscribers) if accounting_process else None
    bus = MessageBus(
        lambda: SqlUnitOfWork(engine, codec),
        handlers,
        subscribers,
        # a wave's subscribers and its dispatched mark share one transaction
        wave_factory=lambda whole=False: SqlWaveTransaction(
            engine, codec, relay.dispatched_in, relay.projected, whole=whole
        ),
        # their events reach billing's and audit's subscribers only, which only write rows
        whole=frozenset[type[Command]]((RecordCompletions, RecordEvents)),
        on_failed=relay.record_failures,
    )

    recorder, journal = _recorder(settings, metrics, accounting, bus, relay, spool=spool)
    catalog = build_catalog(settings.providers)
    clients = build_clients(
        settings.providers, redactor, metrics.count_credentials_refused, settings.outbound
    )

    async def write_refusals(events: Sequence[Event]) -> None:
        await bus.handle(RecordEvents(events=tuple(events)))

    refusals = Coalescer(write_refusals)
    access_refusals, refusal_throttle = _access_refusals(settings, metrics, write_refusals)
    admission = build_admission(settings, engine, limits, bus, refusals)

    def unwritten(budget: Budget, now: datetime) -> Amount:
        return unwritten_spend(recorder.waiting(), budget, now, limits)

    admission = build_admission(settings, engine, limits, bus, refusals, unwritten)
    call_admission = CallAdmission(
        recorder.room,
        admission=admission.admission,
        counter=admission.counter,
        default_max_output_tokens=settings.billing.default_max_output_tokens,
        journal=journal,
    )
    completions = CompletionPipeline(
        catalog,
        call_admission,
        ProviderCalls(clients),
        recorder,
        log_prompts=settings.logging.log_prompts,
    )
    return Container(
        settings=settings,
        engine=engine,
        sync_engine=sync_engine,
        codec=codec,
        bus=bus,
        catalog=catalog,
        clients=clients,
        completions=completions,
        authenticator=authenticator,
        recorder=recorder,
        relay=relay,
        metrics=metrics,
        redactor=redactor,
        broker=broker,
        actors=actors,
        projector=projector,
        embedded_worker=embedded,
        limits=admission,
        refusals=refusals,
        access_refusals=access_refusals,
        refusal_throttle=refusal_throttle,
        revocations=revocations,
        sessions=SessionCallers(sso.sessions, key_lookup),
        sso=sso,
        accounting=accounting,
        spool=journal,
    )
