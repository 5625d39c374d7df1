"""Server-Sent Events: splitting a byte stream into events, and reading an event's fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

_decoder = msgspec.json.Decoder()


class SseSplitter:
    """Feeds bytes in, gets whole events (without their blank-line terminator) out."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        pending = self._pending + data
        if b"\r" in pending:
            pending = pending.replace(b"\r\n", b"\n")
        *events, self._pending = pending.split(b"\n\n")
        return events

    def holds(self, found: Callable[[bytes], object]) -> bool:
        """Whether the part of an event fed and not yet returned holds what `found` looks for
        (a compiled pattern's `search`)."""
        return bool(found(self._pending))

    def rest(self) -> bytes | None:
        """What is left once the stream has ended, if it holds anything."""
        rest, self._pending = self._pending, b""
        return rest if rest.strip() else None


def event_fields(event: bytes) -> tuple[str | None, bytes | None]:
    """(the `event:` name, the `data:` lines joined), each None when absent."""
    # the shapes providers send, `data: ...` and `event: ...\ndata: ...`, read without a loop
    if event.startswith(b"data: "):
        if b"\n" not in event:
            return None, event[6:]
    elif event.startswith(b"event: "):
        end = event.find(b"\n")
        if end > 0 and event.startswith(b"data: ", end + 1) and event.find(b"\n", end + 1) < 0:
            return event[7:end].strip().decode("utf-8", "replace"), event[end + 7 :]
    return _fields(event)


def _fields(event: bytes) -> tuple[str | None, bytes | None]:
    name: str | None = None
    parts = []
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            parts.append(line[6:] if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            name = line[6:].strip().decode("utf-8", "replace")
    return name, (b"\n".join(parts) if parts else None)


def data_values(splitter: SseSplitter, data: bytes) -> list[Any]:
    """The JSON value of the `data` of each event `data` completes, in order (a chat stream's
    chunks): an event without data, the `[DONE]` mark and data that is not JSON left out."""
    values = []
    for event in splitter.feed(data):
        _, payload = event_fields(event)
        if payload is None or payload == b"[DONE]":
            continue
        try:
            values.append(_decoder.decode(payload))
        except (msgspec.DecodeError, RecursionError):
            continue
    return values
