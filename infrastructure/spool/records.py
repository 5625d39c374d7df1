"""The spool's records and their lines on disk.

One record a line: eight hex digits of the CRC-32 of the JSON that follows, a space, the record
as msgspec JSON (which never holds a raw newline), a newline. A line that is cut short (the
process was killed while writing it) or whose checksum does not match is skipped when read, never
fatal: it can only be the record being written at that instant.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import datetime
from typing import Literal

import msgspec

from domains.providers.events import CompletionFinished


class Started(msgspec.Struct, frozen=True, kw_only=True, tag="started"):
    """A call went upstream having reserved `input_tokens` and `output_tokens` (the prompt as
    counted for its limits, 0 when none needed it; the most output it may produce)."""

    call_id: str
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
    transport: Literal["http", "websocket"]
    input_tokens: int
    output_tokens: int
    at: datetime


class Finished(msgspec.Struct, frozen=True, kw_only=True, tag="finished"):
    """A call ended: the event the database is to record (its `event_id` is the call's)."""

    event: CompletionFinished


class Released(msgspec.Struct, frozen=True, kw_only=True, tag="released"):
    """A call's ticket was given back unused."""

    call_id: str


Record = Started | Finished | Released

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Record)
_CRC_DIGITS = 8


def line(record: Record) -> bytes:
    payload = _encoder.encode(record)
    return b"%08x %b\n" % (zlib.crc32(payload), payload)


class Reading(msgspec.Struct, kw_only=True):
    """The records of a file, and how many lines were skipped (cut short, or corrupt)."""

    records: list[Record] = msgspec.field(default_factory=list)
    skipped: int = 0


def read_lines(data: bytes) -> Reading:
    reading = Reading()
    for record in _records(data, reading):
        reading.records.append(record)
    return reading


def _records(data: bytes, reading: Reading) -> Iterator[Record]:
    for raw in data.split(b"\n")[:-1]:  # the part after the last newline is a cut-short line
        if len(raw) <= _CRC_DIGITS + 1 or raw[_CRC_DIGITS : _CRC_DIGITS + 1] != b" ":
            reading.skipped += 1
            continue
        payload = raw[_CRC_DIGITS + 1 :]
        try:
            checksum = int(raw[:_CRC_DIGITS], 16)
        except ValueError:
            reading.skipped += 1
            continue
        if zlib.crc32(payload) != checksum:
            reading.skipped += 1
            continue
        try:
            yield _decoder.decode(payload)
        except msgspec.DecodeError:
            reading.skipped += 1
    if data and not data.endswith(b"\n"):
        reading.skipped += 1
