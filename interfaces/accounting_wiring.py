"""How completions are written down: the completion recorder, through this process's bus or the
accounting child process (`serve`), with the spool it journals each call in first."""

from __future__ import annotations

from pathlib import Path

from application.bus import MessageBus, Registry
from application.providers.commands import RecordCompletions
from application.providers.recorder import CompletionRecorder
from application.shared.uow import UnitOfWork
from domains.billing.events import BudgetSet, PriceSet, RateLimitSet
from domains.providers.events import CompletionFinished
from domains.shared.events import Command, Event
from infrastructure.messaging.outbox_relay import OutboxRelay
from infrastructure.observability.metrics import Metrics
from infrastructure.settings import Settings
from infrastructure.spool.spool import FileSpool
from interfaces.accounting.process import AccountingProcess


def build_accounting_process(registry: Registry) -> AccountingProcess:
    """The child that writes the recorder's batches; it prices the calls, so it reloads the
    limits when this process changes them."""
    accounting = AccountingProcess()

    async def tell_accounting(_events: list[Event], _uow: UnitOfWork) -> None:
        accounting.limits_changed()

    registry.subscribe((BudgetSet, RateLimitSet, PriceSet), tell_accounting)
    return accounting


def build_recorder(
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
