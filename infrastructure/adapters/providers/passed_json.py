"""A request body as JSON bytes for the upstream: a `PassedBody` as the client sent it, with
only the members the gateway changed rewritten in place; any other dict encoded.

The client's bytes were decoded (and so validated) as a JSON object before; this reads only
their top level: where each member's key and value begin and end, skipping over strings and
nested values. A changed member's value is replaced where it stands, a removed member is cut
out with its comma, a new one goes last; every other byte is the client's.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from domains.providers.passed_body import PassedBody

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
_raw_decoder = msgspec.json.Decoder(dict[str, msgspec.Raw])
_SPACE = b" \t\r\n"
_STRUCTURE = re.compile(rb'["\[\]{}]')
_SCALAR_END = re.compile(rb"[\s,}\]]")


class Member:
    """One top-level member of a JSON object: its key, and the spans of the whole member (from
    its key to the end of its value) and of its value."""

    __slots__ = ("end", "key", "start", "value_start")

    def __init__(self, key: str, start: int, value_start: int, end: int) -> None:
        self.key, self.start, self.value_start, self.end = key, start, value_start, end


def passed_json(body: dict[str, Any]) -> bytes:
    """``body`` as the bytes to send: a `PassedBody`'s own bytes with its changes rewritten
    (the very bytes when nothing changed); any other dict encoded."""
    if not isinstance(body, PassedBody):
        return _encoder.encode(body)
    changed, removed = body.changed()
    if not changed and not removed:
        return body.sent
    return rewritten(body.sent, changed, removed)


def rewritten(sent: bytes, changed: dict[str, Any], removed: list[str]) -> bytes:
    """``sent`` (a JSON object) with the members of ``changed`` set to their values (in place
    where the key is found; every occurrence of a repeated key), the ``removed`` ones cut out
    with their commas, the others added last."""
    members = top_level_members(sent)
    kept = [member.key not in removed for member in members]
    cuts: list[tuple[int, int, bytes]] = []  # (start, end, replacement), in order
    for index, member in enumerate(members):
        if member.key in changed:
            cuts.append((member.value_start, member.end, _encoder.encode(changed[member.key])))
        elif not kept[index]:
            if any(kept[index + 1 :]):  # up to the next member: its comma goes with it
                cuts.append((member.start, members[index + 1].start, b""))
            else:  # the last ones: from the end of the one before, taking that comma
                after = members[index - 1].end if index > 0 else member.start
                cuts.append((after, member.end, b""))
    out = bytearray()
    at = 0
    for start, end, replacement in cuts:
        out += sent[at:start] + replacement
        at = end
    tail = sent[at:]
    found = {member.key for member in members}
    added = [key for key in changed if key not in found]
    if added:
        close = tail.rindex(b"}")
        out += tail[:close]
        tail = tail[close:]
        comma = any(kept)
        for key in added:
            out += (b"," if comma else b"") + _encoder.encode(key) + b":"
            out += _encoder.encode(changed[key])
            comma = True
    out += tail
    return bytes(out)


def top_level_members(sent: bytes) -> list[Member]:
    """The members of the JSON object ``sent``, in the order written (valid JSON assumed: it
    was decoded before). Each value is skipped at the length msgspec read it at (its `Raw`
    bytes), so a large body costs a few steps per top-level member; only the earlier copies of
    a repeated key are walked through."""
    raws = _raw_decoder.decode(sent)
    members: list[Member] = []
    at = _skip_space(sent, 0)
    if sent[at : at + 1] != b"{":
        raise ValueError("not a JSON object")
    at = _skip_space(sent, at + 1)
    while sent[at : at + 1] != b"}":
        start = at
        key_end = _string_end(sent, at)
        key = _decoder.decode(sent[start:key_end])
        at = _skip_space(sent, key_end)
        at = _skip_space(sent, at + 1)  # the colon
        value_start = at
        raw = raws.get(key)
        end = at + len(memoryview(raw)) if raw is not None else -1
        if raw is None or not sent.startswith(raw, at) or not _member_ends(sent, end):
            end = _value_end(sent, at)  # an earlier copy of a repeated key
        members.append(Member(key, start, value_start, end))
        at = _skip_space(sent, end)
        if sent[at : at + 1] == b",":
            at = _skip_space(sent, at + 1)
    return members


def _member_ends(sent: bytes, at: int) -> bool:
    """Whether a member's value can end at ``at`` (what follows is a comma or the object's end:
    a number the value of a repeated key begins with is not that value)."""
    return sent[_skip_space(sent, at) : _skip_space(sent, at) + 1] in (b",", b"}")


def _skip_space(sent: bytes, at: int) -> int:
    while at < len(sent) and sent[at] in _SPACE:
        at += 1
    return at


def _string_end(sent: bytes, at: int) -> int:
    """The index just past the string whose opening quote is at ``at``."""
    at += 1
    while True:
        quote = sent.index(b'"', at)
        backslashes = 0
        while sent[quote - 1 - backslashes] == 0x5C:  # an escaped quote is no end
            backslashes += 1
        if backslashes % 2 == 0:
            return quote + 1
        at = quote + 1


def _value_end(sent: bytes, at: int) -> int:
    """The index just past the value that begins at ``at``."""
    first = sent[at : at + 1]
    if first == b'"':
        return _string_end(sent, at)
    if first not in (b"{", b"["):
        match = _SCALAR_END.search(sent, at)
        return match.start() if match else len(sent)
    depth = 0
    while True:
        match = _STRUCTURE.search(sent, at)
        if match is None:
            raise ValueError("unterminated JSON value")
        at = match.start()
        char = sent[at]
        if char == 0x22:  # a string: skip it whole
            at = _string_end(sent, at)
            continue
        depth += 1 if char in (0x7B, 0x5B) else -1
        at += 1
        if depth == 0:
            return at
