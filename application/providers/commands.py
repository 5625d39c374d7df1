"""What can be asked of the providers context."""

from __future__ import annotations

from domains.providers.events import CompletionFinished
from domains.shared.events import Command


class RecordCompletions(Command, frozen=True, kw_only=True):
    """Write a batch of finished calls to the outbox in one transaction."""

    completions: tuple[CompletionFinished, ...]
    replayed: bool = False
    """Calls replayed from the journal of a process that stopped before writing them: some may
    be in the outbox already, and are left out (by event id)."""
