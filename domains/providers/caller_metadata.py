"""What a caller says about a request for their own accounting, read from its body: OpenAI's
(and Anthropic's) `metadata` object and OpenAI's `user`. The request log keeps them, with the
request's `x-fluxrouter-tags`, so cost can be attributed to features, agents or customers.

Only what fits is kept, never refused (the upstream judges the body): string entries of
`metadata`, at most `MAX_ENTRIES`, keys of at most `MAX_KEY` characters and values of at most
`MAX_VALUE`; a `user` of at most `MAX_USER`; nothing with a control character.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_ENTRIES = 16
MAX_KEY = 64
MAX_VALUE = 512
MAX_USER = 256


def _printable(text: str) -> bool:
    return text.isprintable()


def metadata_of(body: Mapping[str, Any]) -> dict[str, str] | None:
    """The body's `metadata` entries the request log keeps, or None."""
    found = body.get("metadata")
    if not found or not isinstance(found, dict):
        return None
    kept: dict[str, str] = {}
    for key, value in found.items():
        if (
            isinstance(key, str)
            and isinstance(value, str)
            and 0 < len(key) <= MAX_KEY
            and len(value) <= MAX_VALUE
            and _printable(key)
            and _printable(value)
        ):
            kept[key] = value
            if len(kept) == MAX_ENTRIES:
                break
    return kept or None


def end_user_of(body: Mapping[str, Any]) -> str | None:
    """The body's `user`, if the request log keeps it."""
    user = body.get("user")
    if isinstance(user, str) and 0 < len(user) <= MAX_USER and _printable(user):
        return user
    return None
