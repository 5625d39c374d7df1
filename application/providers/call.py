"""One call to a model, from the moment it is routed to the event that records how it ended."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from domains.providers.call_bodies import call_bodies
from domains.providers.events import CompletionFinished
from domains.providers.model import ModelRoute
from domains.providers.ports import Usage
from domains.shared.caller import Caller
from domains.shared.ids import new_id

Endpoint = Literal["chat", "embeddings"]
Outcome = Literal["ok", "error", "cancelled"]
Transport = Literal["http", "websocket"]


@dataclass(frozen=True, slots=True)
class Call:
    caller: Caller
    request_id: str
    route: ModelRoute
    endpoint: Endpoint
    stream: bool
    started: float = field(default_factory=time.perf_counter)
    transport: Transport = "http"
    event_id: str | None = None
    """The id of the `CompletionFinished` that records it (journaled calls: chosen at
    admission, so the journal can tell which started call a finished one is)."""
    requested: str = ""
    """The model as the client named it."""
    reason: str = ""
    """Why this deployment was called (`x-fluxrouter-route`)."""
    dialect: str = ""
    """How the client asked (`chat`, `messages`, `responses`, `gemini`, `completions`,
    `embeddings`, `ws`)."""
    deployment: str = ""
    """The deployment called."""
    metadata: dict[str, str] | None = None
    """The caller's `metadata` (`domains.providers.caller_metadata`)."""
    end_user: str | None = None
    """The caller's `user`."""
    cache: str = ""
    """What the response cache did for the request (`hit`, `semantic_hit`, `miss`, `refresh`,
    `off`)."""
    prompt: dict[str, Any] | None = None
    """The request's body, when the caller's team or key keeps bodies (else None: nothing of
    the bodies is done for the call)."""

    def finished(
        self,
        status: int,
        outcome: Outcome,
        usage: Usage | None,
        *,
        usage_reported: bool = True,
        error_code: str = "",
        first_at: float | None = None,
        response: bytes | None = None,
    ) -> CompletionFinished:
        """The record of the call; `first_at`: when a stream's first chunk came
        (`time.perf_counter`); `response`: what answered (kept only with `prompt`)."""
        usage = usage or Usage()
        started = self.started
        return CompletionFinished(
            event_id=self.event_id if self.event_id is not None else new_id(),
            request_id=self.request_id,
            endpoint=self.endpoint,
            key_id=self.caller.key_id,
            team_id=self.caller.team_id,
            org_id=self.caller.org_id,
            user_id=self.caller.user_id,
            provider=self.route.provider,
            model=self.route.name,
            upstream_model=self.route.upstream,
            stream=self.stream,
            status=status,
            outcome=outcome,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            cache_write_5m_tokens=usage.cache_write_5m_tokens,
            cache_write_1h_tokens=usage.cache_write_1h_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            usage_reported=usage_reported,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            transport=self.transport,
            requested_model=self.requested,
            route=self.reason,
            dialect=self.dialect or self.endpoint,
            deployment=self.deployment,
            ttft_ms=None if first_at is None else round((first_at - started) * 1000, 3),
            error_code=error_code,
            tags=self.caller.tags,
            metadata=self.metadata,
            end_user=self.end_user,
            cache=self.cache,
            bodies=None if self.prompt is None else call_bodies(self.prompt, response),
        )
