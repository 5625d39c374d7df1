"""The vocabulary the settings structs declare their constraints with, and the few rules
msgspec cannot declare.

A field's constraint is declared on its type: ``Annotated[int, msgspec.Meta(ge=1, le=65535)]``,
``Literal[...]`` for a choice, and ``extra`` for what its error should say (``unit``: the unit
named after its bounds; ``message``: the whole requirement, for a pattern). The loader turns
msgspec's error into the user's message from these (``infrastructure.settings.errors``).

What msgspec cannot declare (a rule across fields, a URL or an address that must parse) is
checked in the struct's ``__post_init__``, which raises :class:`Invalid` naming the key.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit, urlunsplit

import msgspec

SECONDS = {"unit": "seconds"}
"""``extra`` of a number of seconds: its error names the unit after the bounds."""
FINITE = sys.float_info.max
"""``le`` of a number with no upper bound of its own: refuses infinity (and NaN, as every bound)."""

NotBlank = Annotated[str, msgspec.Meta(pattern=r"\S", extra={"message": "must not be empty"})]
Role = Literal["owner", "admin", "member", "viewer"]
ROLES: tuple[str, ...] = get_args(Role)


class Invalid(ValueError):
    """A rule a struct's ``__post_init__`` found broken. msgspec reports it at the struct's
    path; ``key`` (relative to the struct, "" for the struct itself) names the setting.
    ``problem`` starts in lower case, as msgspec's own messages never do."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"`{key}` {problem}" if key else problem)


RULE_MESSAGE = re.compile(r"(?:`(?P<key>[^`]*)` )?(?P<problem>[a-z].*)", re.S)
"""How the loader tells an :class:`Invalid` from msgspec's own messages, and reads its key."""


def quote(text: str, limit: int = 80) -> str:
    """``text`` as a one-line double-quoted string for error messages, shortened if long."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return json.dumps(text, ensure_ascii=False)


def check_url(key: str, value: str, schemes: tuple[str, ...] = ("http", "https")) -> None:
    """An URL of one of ``schemes`` with a host (a ``unix`` URL needs none); the message
    repeats the URL without its credentials."""
    try:
        parts = urlsplit(value)
        valid = parts.scheme in schemes and (parts.scheme == "unix" or bool(parts.hostname))
    except ValueError:
        valid = False
    if not valid:
        kinds = "an http(s)" if schemes == ("http", "https") else "a " + "/".join(schemes)
        raise Invalid(key, f"must be {kinds} URL, got {quote(without_userinfo(value))}")


def check_no_credentials(key: str, url: str, api_key: str | None) -> None:
    """A provider's credentials go in `api_key`, a secret field that is never shown; a
    `user:password@` in its base URL would be shown wherever the URL is, and aiohttp cannot send
    it beside the key's header. The message never repeats the URL."""
    try:
        parts = urlsplit(url)
        has_userinfo = parts.username is not None or parts.password is not None
    except ValueError:
        return
    if has_userinfo:
        also = " (this provider sets api_key as well)" if api_key else ""
        raise Invalid(
            key,
            f"must not hold credentials (user:password@host){also}: put the provider's key in "
            "api_key, and the URL without them",
        )


def check_unique(key: str, names: list[str], what: str, where: str = "") -> None:
    """Each of ``names`` once; ``key`` is a format string taking the index of the second one."""
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise Invalid(key.format(index), f"duplicate {what} {quote(name)}{where}")
        seen.add(name)


def without_userinfo(url: str) -> str:
    """The URL without its `user:password@`, for showing it anywhere."""
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
    except ValueError:
        return re.sub(r"//[^/?#]*@", "//", url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
