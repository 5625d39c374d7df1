"""When a cancel may interrupt a WebSocket generation.

A cancel interrupts the generation only while it streams (opening the upstream included): the
upstream connection is closed at once and the call is settled to what was produced. Before that
(reading a conversation, admission) the cancel is noted and honoured at the next step, so a
reservation or a transaction is never cut in half; after it, the generation is finishing anyway.
"""

from __future__ import annotations

import asyncio
from typing import Literal

Phase = Literal["preparing", "streaming", "finishing"]


class Stopped(Exception):
    """A cancel noted before the generation reached its stream."""


class Cancellation:
    """A generation's phase and the cancel asked of it, if one was."""

    __slots__ = ("by_client", "phase", "requested", "task")

    def __init__(self) -> None:
        self.phase: Phase = "preparing"
        self.requested = False
        self.by_client = False
        self.task: asyncio.Task[None] | None = None  # the generation's, once it runs

    def request(self, *, by_client: bool) -> None:
        """Stops the generation: at once while it streams, else at its next step."""
        if self.requested:
            return
        self.requested, self.by_client = True, by_client
        if self.phase == "streaming" and self.task is not None:
            self.task.cancel()

    def check(self) -> None:
        """A step of the preparation is done: stops here if a cancel came meanwhile."""
        if self.requested:
            raise Stopped

    def admitted(self) -> bool:
        """Admitted: streams from now on, unless a cancel came while it waited."""
        if self.requested:
            return False
        self.phase = "streaming"
        return True

    def finishing(self) -> None:
        self.phase = "finishing"

    def absorb(self) -> bool:
        """After the generation's task was cancelled: whether this cancel did it (the task is then
        uncancelled, to end the generation itself); if not, it is not ours to absorb (the server
        is stopping)."""
        if not self.requested:
            return False
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        return True
