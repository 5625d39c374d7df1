"""`workers`, `accounting` and `outbox`: the work done beside serving requests, the projection
worker, the accounting spool and the redelivery of events."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import SECONDS, Invalid, NotBlank


class WorkerSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    embedded: bool = True
    """Run the projection worker inside the gateway when there is no redis."""
    accounting_process: bool = True
    """`serve`: each serving process writes its finished calls' accounting (outbox, usage, audit
    rows, checkpoints) from a child process of its own, on another core."""
    analytics_every_seconds: Annotated[float, Meta(ge=0, le=86400, extra=SECONDS)] = 60.0
    """How often the projection worker folds the new request log records into the analytics
    rollups (0: never, the rollups stay as they are)."""
    analytics_settle_seconds: Annotated[float, Meta(ge=0, le=3600, extra=SECONDS)] = 30.0
    """The fold reads the records that ended at least this long ago (records still being
    written land first)."""
    summaries_every_seconds: Annotated[float, Meta(ge=1, le=86400, extra=SECONDS)] = 600.0
    """How often the daily and monthly summaries are computed again from the rollups."""


class AccountingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The spool: each serving process journals its calls on local disk before the database has
    them, and the next start replays what a process left (docs/operations.md)."""

    spool_dir: NotBlank = "./accounting-spool"
    """Where the spool files are (one a serving process); relative paths as the other files."""
    spool_fsync_seconds: Annotated[float, Meta(ge=0.001, le=10, extra=SECONDS)] = 0.02
    """How often what was journaled is made durable (fsync): what a power cut can lose. A
    killed process loses nothing: each record is written to the file as the call is recorded."""
    spool_segment_bytes: Annotated[int, Meta(ge=2**16)] = 16 * 2**20
    """Past this size, once the database has everything, a process starts a fresh file."""
    stop_flush_seconds: Annotated[float, Meta(ge=0, le=600, extra=SECONDS)] = 5.0
    """At shutdown, how long the last write to the database may take before the process stops
    anyway (what it did not write stays in the spool for the next start)."""


class OutboxSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    max_retries: Annotated[int, Meta(ge=0, le=100)] = 5
    """Retries of an undelivered event after its first delivery; then it is a dead letter."""
    retry_base_seconds: Annotated[float, Meta(ge=0.1, le=86400, extra=SECONDS)] = 15.0
    """The first retry this long after the event was written; each next one waits twice as
    long."""
    retry_max_seconds: Annotated[float, Meta(ge=0.1, le=86400, extra=SECONDS)] = 600.0
    """The longest wait between two retries."""
    sweep_every_seconds: Annotated[float, Meta(ge=0.05, le=86400, extra=SECONDS)] = 5.0
    """How often the relay looks for events due for a retry."""

    def __post_init__(self) -> None:
        if self.retry_max_seconds < self.retry_base_seconds:
            raise Invalid("retry_max_seconds", "must not be below outbox.retry_base_seconds")
