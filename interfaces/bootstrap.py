"""The composition root: the one place that builds and wires everything, from settings.

`bootstrap()` does no I/O; `Container.start()` and `.stop()` run the background parts (the
completion recorder, the outbox relay, the audit checkpoint writer with its signing key and, in
the embedded shape, the Dramatiq worker).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import dramatiq
import structlog
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from application.billing.unwritten_spend import unwritten_spend
from application.bus import MessageBus, Registry
from application.providers.commands import RecordCompletions
from application.providers.completions.admit import CallAdmission
from application.providers.completions.pipeline import CompletionPipeline
from application.providers.completions.upstream import ProviderCalls
from application.providers.config_audit import RecordConfig
from application.providers.recorder import CompletionRecorder
from application.shared.coalescer import Coalescer
from application.shared.record_events import RecordEvents
from application.shared.refusal_throttle import RefusalThrottle
from application.shared.tasks import cancel_and_wait
from application.shared.uow import UnitOfWork
from application.teams.authenticate import KeyAuthenticator
from application.teams.sessions import SessionAuthenticator
from domains.billing.budget import Amount, Budget, BudgetLedger
from domains.billing.events import (
    BudgetSet,
    PriceSet,
    RateLimitSet,
)
from domains.providers.events import CompletionFinished
from domains.providers.model import Catalog
from domains.providers.ports import ProviderClient
from domains.shared.events import Command, Event
from infrastructure.adapters.providers.factory import build_catalog, build_clients
from infrastructure.audit.checkpointer import Checkpointer
from infrastructure.db.engine import create_engine, create_sync_engine
from infrastructure.db.event_codec import EventCodec, all_event_types
from infrastructure.db.repositories.teams import SqlKeyLookup
from infrastructure.db.wave import SqlTransactions
from infrastructure.messaging.key_revocations import KeyRevocationChannel
from infrastructure.messaging.outbox_relay import OutboxRelay
from infrastructure.observability.metrics import Metrics
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
from interfaces.common_wiring import outbox_relay as _relay
from interfaces.common_wiring import projections_for, redactor_for, registry_for
from interfaces.config_summary import summary_of
from interfaces.sso_wiring import SsoServices, build_sso
from interfaces.worker.actors import Actors
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


def _accounting_process(registry: Registry) -> AccountingProcess:
    """The child that writes the recorder's batches; it prices the calls, so it reloads the
    limits when this process changes them."""
    accounting = AccountingProcess()

    async def tell_accounting(_events: list[Event], _uow: UnitOfWork) -> None:
        accounting.limits_changed()

    registry.subscribe((BudgetSet, RateLimitSet, PriceSet), tell_accounting)
    return accounting


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

    broker, projector, actors, embedded, enqueue = projections_for(settings, sync_engine, codec)
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
    limits = limits_cache(settings, engine)
    sso = build_sso(settings, engine)
    revocations = None
    if settings.redis.url:
        revocations = KeyRevocationChannel(
            settings.redis.url,
            settings.redis.namespace,
            forget=authenticator.forget_key,
            forget_all=authenticator.forget_all,
            forget_user=authenticator.forget_user,
        )
    registry = registry_for(
        limits=limits,
        authenticator=authenticator,
        sessions=None if sso.sessions_in_database else sso.sessions.store,
        broadcast=revocations,
    )
    accounting = _accounting_process(registry) if accounting_process else None
    bus = MessageBus(
        registry,
        # a wave's subscribers and its dispatched mark share one transaction
        SqlTransactions(engine, codec, relay.project, relay.projected),
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
