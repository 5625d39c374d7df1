"""A request body that remembers the bytes the client sent, so that it can reach an upstream
that speaks its dialect as those very bytes.

A front door decodes the client's JSON object into a `PassedBody`: a plain `dict` to everything
that reads it (validation, admission, the prompt log), that also keeps `sent`, the bytes it was
decoded from, and `decoded`, the members as they were decoded. Whoever changes a member (the
output cap a reservation demands, the model's upstream name) changes a copy (`copy.copy` keeps
the type, `with_members` says it in one call); the adapter that finally encodes it rewrites
only the members that differ from `decoded` in `sent`
(`infrastructure.adapters.providers.passed_json`): key order, spacing, escapes, number
spellings and unknown fields all reach the upstream as the client wrote them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


class PassedBody(dict[str, Any]):
    """The client's JSON object: its members (this dict), the bytes they came from (`sent`)
    and the members as decoded (`decoded`, to tell what changed since)."""

    __slots__ = ("decoded", "sent")

    def __init__(self, members: Mapping[str, Any], sent: bytes) -> None:
        super().__init__(members)
        self.sent = sent
        self.decoded: dict[str, Any] = dict(members)

    def __copy__(self) -> PassedBody:
        twin = PassedBody.__new__(PassedBody)
        dict.update(twin, self)
        twin.sent, twin.decoded = self.sent, self.decoded
        return twin

    def changed(self) -> tuple[dict[str, Any], list[str]]:
        """(the members set or changed since decoding, the members removed), in this dict's
        order. A member counts as changed when its value is no longer the decoded one and no
        longer equal to it."""
        decoded = self.decoded
        changed = {
            key: value
            for key, value in self.items()
            if key not in decoded or not (value is decoded[key] or _same(value, decoded[key]))
        }
        removed = [key for key in decoded if key not in self]
        return changed, removed


def with_members(body: dict[str, Any], **members: Any) -> dict[str, Any]:
    """A copy of ``body`` with ``members`` set: a `PassedBody` stays one (its bytes go on with
    only these members rewritten), any other dict is copied as a dict."""
    twin = copy.copy(body)
    twin.update(members)
    return twin


def _same(a: object, b: object) -> bool:
    """Equal and of the same JSON kind (``1``, ``1.0`` and ``true`` are equal in Python, not in
    what the upstream reads)."""
    return type(a) is type(b) and a == b
