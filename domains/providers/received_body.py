"""A request body as the client sent it: the decoded JSON object, and the bytes it came as.

A front door whose dialect a provider takes as it is hands the pipeline a `ReceivedBody`; the
adapter that passes it on sends `raw`, so the upstream receives what the client sent, byte for
byte (unknown fields, key order and number spellings included). The gateway never changes a
body in place: a body it must change (capped to its reservation, say) is a new, plain dict, so
`raw` is only ever read while it still says what the mapping holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class ReceivedBody(dict[str, Any]):
    """The decoded body (a dict, for everything that reads it) with the bytes it was decoded
    from."""

    __slots__ = ("raw",)

    def __init__(self, decoded: Mapping[str, Any], raw: bytes) -> None:
        super().__init__(decoded)
        self.raw = raw


def body_bytes(body: Mapping[str, Any], encode: Callable[[Any], bytes]) -> bytes:
    """The bytes to send for `body`: those it was received as when it is still unchanged, else
    `encode(body)`."""
    raw = getattr(body, "raw", None) if isinstance(body, ReceivedBody) else None
    return raw if isinstance(raw, bytes) else encode(body)
