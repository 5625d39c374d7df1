"""What the providers context tells the others: a model call finished (and what it used)."""

from __future__ import annotations

from typing import Literal

import msgspec

from domains.shared.events import Event


class CallBodies(msgspec.Struct, frozen=True, kw_only=True):
    """A call's prompt (the request's body) and its answer (a whole answer's body, or what a
    stream relayed), each as text of at most `domains.providers.call_bodies.BODY_CAP` bytes
    (`*_truncated`: cut there). Carried only for a team or key that opted in, and written only
    scrubbed (`request_bodies`): never into the outbox nor the spool."""

    prompt: str | None = None
    response: str | None = None
    prompt_truncated: bool = False
    response_truncated: bool = False


class CompletionFinished(Event, frozen=True, kw_only=True, tag=True):
    """A chat completion or embeddings call ended: answered, failed or cut by the client.

    Token counts are the upstream's own report, nested as in `domains.shared.usage.Usage`
    (`input_tokens` includes the cache reads and writes, `output_tokens` the reasoning tokens);
    `usage_reported` is False when the stream was cut before the upstream reported usage and the
    counts are the gateway's estimate. `transport` is
    how the client called: `/v1` over HTTP, or the WebSocket chat protocol. The audit log
    records the call once it is charged (billing's `UsageRecorded`), with its cost.
    """

    request_id: str
    endpoint: Literal["chat", "embeddings"]
    key_id: str
    team_id: str
    org_id: str
    user_id: str | None
    provider: str
    model: str
    upstream_model: str
    stream: bool
    status: int
    outcome: Literal["ok", "error", "cancelled"]
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    usage_reported: bool = True
    latency_ms: float = 0.0
    transport: Literal["http", "websocket"] = "http"
    requested_model: str = ""
    """The model as the client named it (a bare name, `provider/name`): `model` is the one
    that was called, another when a fallback answered."""
    route: str = ""
    """Why this deployment was called (`x-fluxrouter-route`): the strategy and deployment, the
    attempts before it and the fallback taken. Every attempt of a request is recorded, each
    as what it was."""
    dialect: str = ""
    """How the client asked: `chat`, `responses`, `messages`, `gemini`, `completions`,
    `embeddings`, or `ws` (the WebSocket chat; the Responses WebSocket mode is `responses`);
    empty in records older than the field."""
    deployment: str = ""
    """The deployment called (its name in the routing configuration)."""
    ttft_ms: float | None = None
    """Milliseconds from the attempt's start to the stream's first chunk (streams only)."""
    error_code: str = ""
    """The error's code (OpenAI's `code`, e.g. `upstream_timeout`) when the call failed."""
    tags: tuple[str, ...] = ()
    """The request's `x-fluxrouter-tags`."""
    metadata: dict[str, str] | None = None
    """The body's `metadata` (OpenAI's, Anthropic's), its string entries only, bounded."""
    end_user: str | None = None
    """The body's `user` (OpenAI's end-user id)."""
    cache: str = ""
    """What the gateway's response cache did: `hit` (answered from it: nothing went upstream,
    the tokens are those of the stored answer, which the call saved), `semantic_hit` (the same,
    the stored answer of a similar question: the semantic cache), `miss` (looked up, not
    found: the upstream answered and was stored), `refresh` (asked to go upstream and replace
    the entry), `off` (not cached); empty in records older than the field."""
    bodies: CallBodies | None = None
    """The call's prompt and answer, for a team or key that keeps them (unscrubbed here: the
    accounting scrubs them before it writes them; the outbox and the spool never hold them)."""


class ConfigChanged(Event, frozen=True, kw_only=True, tag=True):
    """The gateway started with a configuration that differs from the last one: what was added,
    removed or changed (providers, models, sections), and the digest of the new summary. The
    first start records the whole configuration as added."""

    digest: str
    added: list[str]
    removed: list[str]
    changed: list[str]
    actor: str = "config"


class DeploymentCircuitOpened(Event, frozen=True, kw_only=True, tag=True):
    """A deployment's circuit opened: no call goes to it for `cooldown_seconds`. Raised once per
    opening, by the replica whose calls failed (one that only learnt it from the others does
    not raise it). `reason`: `consecutive_failures` or `error_rate` (the window's `calls` and
    `failures` say how far)."""

    deployment: str
    provider: str
    model: str
    reason: str
    consecutive_failures: int
    calls: int
    failures: int
    cooldown_seconds: float
    actor: str = "system"


class DeploymentCircuitClosed(Event, frozen=True, kw_only=True, tag=True):
    """A deployment's circuit closed again: its probe call succeeded on the replica that made
    it."""

    deployment: str
    provider: str
    model: str
    actor: str = "system"


class DeploymentErrorRateHigh(Event, frozen=True, kw_only=True, tag=True):
    """Of the last `window_seconds` of calls this replica made to a deployment, `failures` of
    `calls` failed: at least the configured share (`alerts.error_rate_share`). Raised once per
    spike, by each replica that saw it; raised again only once the rate fell under half the
    share."""

    deployment: str
    provider: str
    model: str
    calls: int
    failures: int
    window_seconds: float
    share: float
    actor: str = "system"


EVENTS: tuple[type[Event], ...] = (
    CompletionFinished,
    ConfigChanged,
    DeploymentCircuitOpened,
    DeploymentCircuitClosed,
    DeploymentErrorRateHigh,
)
