"""The request log: one record per model call (every attempt of a request), with what the
caller asked for, what served it and why, how it went, what it used and what it cost.

Written by the accounting process with the usage row of the same call (billing's subscriber of
`CompletionFinished`), in the same transaction: the request path never writes or reads it.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

TAG_SEPARATOR = "\x1f"
"""Between the searchable tags of a record (a control character no tag holds)."""


class RequestRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One call. `ts` is when it ended; `model` is the catalog's name of what served it
    (`upstream_model` the name the upstream knows), `requested_model` what the client named.
    Tokens nest as in `domains.shared.usage.Usage`: `prompt_tokens` includes the cache reads
    (`cached_tokens`) and writes (`cache_write_tokens`), `completion_tokens` the reasoning."""

    id: str
    """The id of the `CompletionFinished` that records the call."""
    ts: datetime
    request_id: str
    org_id: str
    team_id: str
    user_id: str | None
    key_id: str
    dialect: str
    transport: str
    stream: bool
    requested_model: str
    model: str
    upstream_model: str
    provider: str
    deployment: str
    route: str
    status: int
    outcome: str
    error_code: str
    cancelled: bool
    latency_ms: float
    ttft_ms: float | None
    prompt_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost_picousd: int
    priced: bool
    usage_reported: bool
    cache: str
    """What the gateway's response cache did: `hit`, `miss`, `refresh` or `off`."""
    saved_picousd: int = 0
    """What a cache hit saved: what its answer would have cost upstream (0 for any other)."""
    tags: tuple[str, ...]
    metadata: dict[str, str] | None
    end_user: str | None

    def searchable_tags(self) -> str | None:
        """What the `tag` filter matches: each tag, each `metadata` entry as `key=value`, and
        `user=<end user>`, between separators (None: none)."""
        found = [*self.tags]
        if self.metadata:
            found.extend(f"{key}={value}" for key, value in self.metadata.items())
        if self.end_user is not None:
            found.append(f"user={self.end_user}")
        if not found:
            return None
        return TAG_SEPARATOR + TAG_SEPARATOR.join(found) + TAG_SEPARATOR


class RequestBodies(msgspec.Struct, frozen=True, kw_only=True):
    """A call's prompt and answer, scrubbed, kept with its record (same `ts` and `id`) for a team
    or key that opted in (`domains.providers.events.CallBodies`)."""

    id: str
    ts: datetime
    request_id: str
    prompt: str | None
    response: str | None
    prompt_truncated: bool
    response_truncated: bool
