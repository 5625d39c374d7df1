"""Where the socket's responses come from: the very function `POST /v1/responses` answers with
(`interfaces/http/responses/create.py`), seen through the little the socket needs of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

from domains.shared.caller import Caller

OnAdmitted = Callable[[Mapping[str, str]], bool]
"""Told the admission's `x-ratelimit-*` headers once admitted; False withdraws the request
before anything goes upstream (a client that left meanwhile)."""


class Streamed(Protocol):
    """A created response, streamed: its SSE frames (`event: …\\ndata: {…}\\n\\n`, in whatever
    pieces), whose closing aborts the upstream call and bills what was produced."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def events(self) -> AsyncIterator[bytes] | None: ...


class ResponseSource(Protocol):
    """Creates one streamed response for `caller` from a `POST /v1/responses` body (`stream`
    set), as that route would: routing, admission, storage and billing included. A body it
    refuses raises the domain's errors (`InvalidRequest`, `LimitExceeded`, `UpstreamError`…)."""

    async def __call__(
        self, caller: Caller, body: dict[str, Any], request_id: str, *, on_admitted: OnAdmitted
    ) -> Streamed: ...
