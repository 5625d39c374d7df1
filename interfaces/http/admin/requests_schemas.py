"""The request log's records and pages as the admin API answers them."""

from __future__ import annotations

from typing import Any

import msgspec


class RequestOut(msgspec.Struct):
    """One model call: every attempt of a request is a record of its own."""

    request_id: str
    id: str
    ts: str
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
    cost_usd: str
    priced: bool
    usage_reported: bool
    cache: str
    tags: list[str]
    metadata: dict[str, str] | None
    end_user: str | None
    bodies: BodiesOut | msgspec.UnsetType | None = msgspec.UNSET
    """The call's kept bodies: in a request's records when its team or key kept them; in pages
    and exports only with `include=bodies` (null when none were kept)."""


class BodiesOut(msgspec.Struct):
    """A call's prompt and answer, scrubbed, each cut at 64 KiB (`*_truncated`)."""

    prompt: str | None
    response: str | None
    prompt_truncated: bool
    response_truncated: bool


class RequestPageOut(msgspec.Struct):
    rows: list[RequestOut]
    next_cursor: str | None


class RequestAttemptsOut(msgspec.Struct):
    request_id: str
    attempts: list[RequestOut]


def request_out(values: dict[str, Any]) -> RequestOut:
    if "bodies" not in values:
        return RequestOut(**values)
    kept = values["bodies"]
    bodies = BodiesOut(**kept) if kept is not None else None
    return RequestOut(**{**values, "bodies": bodies})
