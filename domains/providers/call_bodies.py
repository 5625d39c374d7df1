"""A call's bodies as the request path hands them to the accounting: the prompt encoded once,
each body cut at `BODY_CAP` bytes, so a large body never makes a large batch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec

from domains.providers.events import CallBodies

BODY_CAP = 64 * 1024
"""The most bytes of a prompt, and of an answer, a call keeps (UTF-8; cut at a character)."""

_encoder = msgspec.json.Encoder()


def _capped(data: bytes) -> tuple[str, bool]:
    if len(data) <= BODY_CAP:
        return data.decode("utf-8", "replace"), False
    return data[:BODY_CAP].decode("utf-8", "ignore"), True


def call_bodies(prompt: dict[str, Any], response: bytes | None) -> CallBodies:
    """The bodies of a call: `prompt` the request's body, `response` what answered (None: no
    answer, a failed attempt)."""
    try:
        encoded = _encoder.encode(prompt)
    except (TypeError, ValueError, OverflowError):  # not JSON (never, from a decoded body)
        encoded = b""
    prompt_text, prompt_cut = _capped(encoded)
    if response is None:
        return CallBodies(prompt=prompt_text, prompt_truncated=prompt_cut)
    response_text, response_cut = _capped(response)
    return CallBodies(
        prompt=prompt_text,
        response=response_text,
        prompt_truncated=prompt_cut,
        response_truncated=response_cut,
    )


class StreamKept:
    """What a stream relayed, kept up to `BODY_CAP` bytes."""

    __slots__ = ("chunks", "size")

    def __init__(self, first: bytes | None = None) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        if first is not None:
            self.add(first)

    async def tee(self, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """`source`'s chunks, each kept as it passes."""
        async for chunk in source:
            self.add(chunk)
            yield chunk

    def add(self, chunk: bytes) -> None:
        if self.size <= BODY_CAP:
            self.chunks.append(chunk)
            self.size += len(chunk)

    def body(self) -> bytes:
        return b"".join(self.chunks)
