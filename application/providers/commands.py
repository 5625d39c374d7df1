"""What can be asked of the providers context."""

from __future__ import annotations

from domains.providers.events import CompletionFinished
from domains.shared.events import Command


class RecordCompletions(Command, frozen=True, kw_only=True):
    """Write a batch of finished calls to the outbox in one transaction."""

    completions: tuple[CompletionFinished, ...]
