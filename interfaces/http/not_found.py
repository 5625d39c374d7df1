"""The 404 for a path no route serves: it names the path, escaped and cut short, so a typo in a
base URL is plain to see without echoing whatever a client sent."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.exceptions import NotFoundException

UNKNOWN_PATH = "unknown_path"
SHOWN_CHARACTERS = 120  # of the path; longer ones are cut, and say so
# What a path may show as it is; anything else (spaces, quotes, angle brackets, control or
# non-ASCII characters) is percent-encoded.
_SAFE = "/:@!$&'()*+,;=-._~"


def is_unrouted(request: Request[Any, Any, Any], exc: Exception) -> bool:
    """Whether `exc` is the router's 404: no route matched the path."""
    return isinstance(exc, NotFoundException) and "route_handler" not in request.scope


def shown_path(path: str) -> str:
    """The path as an error message shows it: percent-encoded, at most `SHOWN_CHARACTERS`."""
    escaped = quote(path, safe=_SAFE)
    if len(escaped) <= SHOWN_CHARACTERS:
        return escaped
    cut = escaped[:SHOWN_CHARACTERS]
    if "%" in cut[-2:]:  # never half an escape
        cut = cut[: cut.rindex("%")]
    return cut + "…"


def unknown_path_message(method: str, path: str) -> str:
    return f"There is nothing at {shown_path(path)} ({method.upper()[:16]})."
