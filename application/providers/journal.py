"""The journal of calls: what makes a served call durable before the database has taken it.

The gateway journals a call when it goes upstream (`started`, with what its admission reserved),
the recorder journals how it ended (`finished`, the very `CompletionFinished` it then writes to the
database) and a ticket given back unused says so (`released`). After a crash the journal is
replayed at the next start: every finished call is written (once: by event id), and a call that
started but never finished is charged what it reserved, so spend never under-counts.

`NO_JOURNAL` is for the processes that serve no call (the tools, the accounting process).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from domains.providers.admission import Ticket
from domains.providers.events import CompletionFinished
from domains.providers.ports import Usage

if TYPE_CHECKING:
    from application.providers.call import Call


class CallJournal(Protocol):
    def started(self, call: Call, input_tokens: int, output_tokens: int) -> None:
        """The call goes upstream, having reserved this many prompt and output tokens."""
        ...

    def finished(self, event: CompletionFinished) -> None:
        """The call ended; returns once the record is handed to the operating system."""
        ...

    def released(self, call_id: str) -> None:
        """The call's ticket was given back unused: nothing to charge, unless it finished."""
        ...

    async def settled(self) -> None:
        """Everything finished so far is in the database (the journal may start afresh)."""
        ...

    async def sync(self) -> None:
        """Until what was journaled so far is on disk (fsync)."""
        ...


class JournaledTicket:
    """An admission's ticket that journals the call it admits: its id is the id of the
    `CompletionFinished` that will record the call, and it knows what was reserved."""

    __slots__ = ("_inner", "_journal", "call_id", "input_tokens", "output_tokens")

    def __init__(
        self,
        inner: Ticket,
        journal: CallJournal,
        call_id: str,
        input_tokens: int,
        output_tokens: int,
    ) -> None:
        self._inner = inner
        self._journal = journal
        self.call_id = call_id
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens

    @property
    def headers(self) -> Mapping[str, str]:
        return self._inner.headers

    @property
    def reserved(self) -> tuple[int, int] | None:
        return self._inner.reserved

    def start(self, call: Call) -> None:
        self._journal.started(call, self.input_tokens, self.output_tokens)

    def settle(self, usage: Usage) -> None:
        self._inner.settle(usage)

    def release(self) -> None:
        self._journal.released(self.call_id)
        self._inner.release()
