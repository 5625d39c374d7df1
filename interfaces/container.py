"""What `bootstrap()` builds, and its lifecycle: `Container.start()` and `.stop()` run the
background parts (the completion recorder, the outbox relay, the audit checkpoint writer with its
signing key, the retention sweep of stored responses and, in the embedded shape, the Dramatiq
worker)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dramatiq
import structlog
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from application.bus import MessageBus
from application.conversations.retention import ResponseSweep
from application.providers.completions.pipeline import CompletionPipeline
from application.providers.config_audit import RecordConfig
from application.providers.recorder import CompletionRecorder
from application.providers.routing.circuit_watch import CircuitWatch
from application.shared.coalescer import Coalescer
from application.shared.refusal_throttle import RefusalThrottle
from application.shared.tasks import cancel_and_wait
from application.teams.authenticate import KeyAuthenticator
from application.teams.sessions import SessionAuthenticator
from domains.billing.budget import BudgetLedger
from domains.providers.model import Catalog
from domains.providers.ports import ProviderClient
from infrastructure.alerts.sweep import AlertSweep
from infrastructure.audit.checkpointer import Checkpointer
from infrastructure.db.event_codec import EventCodec
from infrastructure.messaging.key_revocations import KeyRevocationChannel
from infrastructure.messaging.outbox_relay import OutboxRelay
from infrastructure.observability.metrics import Metrics
from infrastructure.projections.usage import UsageProjector
from infrastructure.routing.health_probes import HealthProber
from infrastructure.routing.shared_state import SharedRoutingState
from infrastructure.security.admin_key import ensure_admin_key
from infrastructure.security.audit_signing import SigningKey
from infrastructure.security.redaction import Redactor
from infrastructure.settings import Settings
from infrastructure.spool.claim import claim
from infrastructure.spool.reconcile import owed
from infrastructure.spool.spool import FileSpool
from interfaces.accounting.process import AccountingProcess, AccountingUnavailable
from interfaces.audit_wiring import start_checkpoints
from interfaces.billing_wiring import Admission
from interfaces.config_summary import summary_of
from interfaces.sso_wiring import SsoServices
from interfaces.worker.actors import Actors
from interfaces.worker.retention_schedule import RetentionSchedule
from interfaces.worker.ticker import Ticker
from interfaces.ws.key_connections import KeyConnections

if TYPE_CHECKING:
    from interfaces.http.responses.create import ResponsesServices

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
    response_sweep: ResponseSweep | None = None
    retention_schedule: RetentionSchedule | None = None
    """Sends the retention job (`prune_retention`) its message, now and then."""
    routing_share: SharedRoutingState | None = None
    """Shares the deployments' rate windows and circuits with the other replicas (Redis)."""
    circuit_watch: CircuitWatch | None = None
    """Records the circuits this replica opened and closed (the audit log, the alerts)."""
    alert_sweep: AlertSweep | None = None
    """Hands the alert deliveries whose try is overdue to the workers again."""
    health_probes: HealthProber | None = None
    """Probes every deployment now and then (`routing.health_probes`)."""
    responses: ResponsesServices | None = None  # built at the first /v1/responses request
    """Deletes the stored responses (`/v1/responses`) past their retention, now and then."""
    _worker: dramatiq.Worker | None = field(default=None, repr=False)
    _ticker: Ticker | None = field(default=None, repr=False)
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
        if self.response_sweep is not None:
            self.response_sweep.start()
        if self.retention_schedule is not None:
            self.retention_schedule.start()
        if self.routing_share is not None:
            self.routing_share.start()
        if self.circuit_watch is not None:
            self.circuit_watch.start()
        if self.alert_sweep is not None:
            self.alert_sweep.start()
        if self.health_probes is not None:
            self.health_probes.start()
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
            self._ticker = Ticker(self.actors, self.settings.workers)
            self._ticker.start()

    async def _stop_projections(self) -> None:
        if self._ticker is not None:
            await asyncio.to_thread(self._ticker.stop)
            self._ticker = None
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
        if self.response_sweep is not None:
            await self.response_sweep.stop()
        if self.retention_schedule is not None:
            await self.retention_schedule.stop()
        if self.routing_share is not None:
            await self.routing_share.stop()
        if self.circuit_watch is not None:
            await self.circuit_watch.stop()
        if self.alert_sweep is not None:
            await self.alert_sweep.stop()
        if self.health_probes is not None:
            await self.health_probes.stop()
        if self.responses is not None:  # the responses answered are written before it stops
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.responses.store.drain(), max(deadline - loop.time(), 0.1)
                )
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
