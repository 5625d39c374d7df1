"""The pipeline's admission step: may this caller spend on this model now, and how much?

Budgets and rate limits answer through the `Admission` port (`domains.providers.admission`; the
billing context implements it, wired at the composition root): a refusal raises `LimitExceeded`
(429) or `Forbidden` (403) before any upstream call; an admission is a ticket the pipeline settles
or releases, exactly once. Here: what the request is estimated at (its prompt tokens, counted only
if a limit needs them, and the most output it may produce), waiting first while the accounting
is behind, and journaling what was reserved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from application.providers.journal import CallJournal, JournaledTicket
from domains.providers.admission import Admission, AdmitEveryone, Ticket
from domains.providers.model import ModelRoute
from domains.providers.output_limit import (
    RequestKind,
    least_output,
    limited_body,
    max_output_tokens,
)
from domains.providers.ports import PromptCounter
from domains.shared.caller import Caller
from domains.shared.ids import new_id


class CallAdmission:
    def __init__(
        self,
        room: Callable[[], Awaitable[None]],
        *,
        admission: Admission | None = None,
        counter: PromptCounter | None = None,
        default_max_output_tokens: int = 4096,
        journal: CallJournal | None = None,
    ) -> None:
        """`room` returns once the finished calls waiting to be written are below the
        recorder's high water (`CompletionRecorder.room`)."""
        self._room = room
        self._admission: Admission = admission or AdmitEveryone()
        self._counter = counter
        self._default_max_output = default_max_output_tokens
        self._journal = journal

    async def admit(
        self,
        caller: Caller,
        route: ModelRoute,
        body: Mapping[str, Any],
        kind: RequestKind,
        sent_as: RequestKind | None = None,
    ) -> Ticket:
        """Takes the caller's rate limits and reserves the request's largest cost against their
        budgets, or refuses (LimitExceeded, Forbidden). Tokens are counted only if a limit
        needs them. First, if the finished calls waiting to be written reached the recorder's
        high water, waits for room. `body` is read as a `kind` body; `sent_as`, the shape it
        goes upstream in (`kind` when not given), may ask for more output than `body` says
        (`least_output`: a Responses body never asks OpenAI for fewer than 16 tokens)."""
        least = least_output(sent_as or kind)

        def estimate() -> tuple[int, int]:
            prompt = 0
            if self._counter is not None:
                count = {
                    "chat": self._counter.count_chat,
                    "messages": self._counter.count_messages,
                    "embeddings": self._counter.count_embeddings,
                }[kind]
                prompt = count(body)
            return prompt, max(self._most_output(route, body, kind), least)

        await self._room()  # while the accounting catches up, if it fell behind
        journal = self._journal
        if journal is None:
            return await self._admission.admit(caller, route.provider, route.name, estimate)
        counted: list[tuple[int, int]] = []

        def estimate_once() -> tuple[int, int]:
            if not counted:
                counted.append(estimate())
            return counted[0]

        ticket = await self._admission.admit(caller, route.provider, route.name, estimate_once)
        if counted:  # what the admission reserved
            prompt, most = counted[0]
        else:  # no limit needed a count: the output bound alone, the prompt left uncounted
            prompt, most = 0, max(self._most_output(route, body, kind), least)
        return JournaledTicket(ticket, journal, new_id(), prompt, most)

    def _most_output(self, route: ModelRoute, body: Mapping[str, Any], kind: RequestKind) -> int:
        return max_output_tokens(
            body, kind=kind, model_max=route.max_output_tokens, default=self._default_max_output
        )


def within_reservation(
    body: dict[str, Any], route: ModelRoute, ticket: Ticket, kind: RequestKind
) -> dict[str, Any]:
    """The body asking the upstream for no more output than the ticket reserved (the body
    itself when nothing was reserved, or it already asks for no more)."""
    reserved = ticket.reserved
    if reserved is None:
        return body
    return limited_body(body, kind=kind, reserved=reserved[1], newer_field=route.kind == "openai")
