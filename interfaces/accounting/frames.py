"""What a serving process and its accounting process say to each other, over a pipe each way.

To the child, frames: one byte of kind, four of length (big-endian), then the payload.
`COMPLETIONS` holds a batch of finished calls (msgspec JSON); `REPLAYED` the same, for a batch
that may have been written already (the child that had it went away before answering), so the
child first leaves out the calls already in the outbox; `RESPONSES` a batch of responses
`/v1/responses` stores (`StoreResponses`, msgspec JSON), written in one transaction;
`LIMITS_CHANGED` (no payload) asks the child to reload the limits and prices before the next
batch. Back to the parent, one byte: `READY`
once, when the child has started, then `WRITTEN` or `FAILED` for each batch, in order.
"""

from __future__ import annotations

import struct

import msgspec

from application.conversations.commands import StoreResponses
from domains.providers.events import CompletionFinished

COMPLETIONS = b"C"
REPLAYED = b"R"
LIMITS_CHANGED = b"L"
RESPONSES = b"S"
KINDS = frozenset((COMPLETIONS, REPLAYED, LIMITS_CHANGED, RESPONSES))

READY = b"\x02"
WRITTEN = b"\x01"
FAILED = b"\x00"

HEADER = struct.Struct(">cI")
"""A frame's kind and its payload's length."""

MAX_PAYLOAD = 2**31
"""A batch of 500 calls is about 250 KiB; anything near this is not a frame of ours."""

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[CompletionFinished])
_responses_decoder = msgspec.json.Decoder(StoreResponses)


class BadFrame(Exception):
    """The bytes on the pipe are not a frame of this protocol."""


def frame(
    kind: bytes, calls: tuple[CompletionFinished, ...] | list[CompletionFinished] = ()
) -> bytes:
    payload = _encoder.encode(calls) if kind != LIMITS_CHANGED else b""
    return HEADER.pack(kind, len(payload)) + payload


def responses_frame(command: StoreResponses) -> bytes:
    payload = _encoder.encode(command)
    return HEADER.pack(RESPONSES, len(payload)) + payload


def header(data: bytes) -> tuple[bytes, int]:
    kind, length = HEADER.unpack(data)
    if kind not in KINDS or length >= MAX_PAYLOAD:
        raise BadFrame(f"unknown frame kind {kind!r} or length {length}")
    return kind, length


def calls(payload: bytes) -> list[CompletionFinished]:
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError as error:
        raise BadFrame(str(error)) from error


def responses(payload: bytes) -> StoreResponses:
    try:
        return _responses_decoder.decode(payload)
    except msgspec.DecodeError as error:
        raise BadFrame(str(error)) from error
