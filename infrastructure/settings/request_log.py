"""`request_log`: how long the request log and the bodies some teams keep are kept, and what is
scrubbed out of those bodies."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import SECONDS, Invalid, NotBlank, check_unique

PatternName = Annotated[
    str,
    Meta(
        pattern=r"^[a-z0-9_]{1,32}$",
        extra={"message": "must be 1 to 32 of a-z, 0-9 and _"},
    ),
]


class PiiPatternSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: PatternName
    """What replaces a match: `[REDACTED:<name>]`."""
    regex: NotBlank
    """A Python regular expression; every match in a kept body is replaced."""

    def __post_init__(self) -> None:
        try:
            compiled = re.compile(self.regex)
        except re.error as error:
            raise Invalid("regex", f"is not a regular expression: {error}") from None
        if compiled.search(""):
            raise Invalid("regex", "must not match an empty string")


class RequestLogSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    retention_days: Annotated[int, Meta(ge=1, le=36500)] | None = None
    """How many days request log records are kept (None: until an operator deletes them)."""
    bodies_retention_days: Annotated[int, Meta(ge=1, le=36500)] = 7
    """How many days the kept bodies (opted in per team or key) are kept."""
    pii_patterns: list[PiiPatternSettings] = msgspec.field(default_factory=list)
    """Patterns of personal data scrubbed out of kept bodies, besides the built-in ones."""
    builtin_pii_patterns: bool = True
    """Scrub e-mail addresses, card numbers (Luhn-checked) and phone numbers out of kept
    bodies."""
    prune_every_seconds: Annotated[float, Meta(ge=1, le=86400, extra=SECONDS)] = 3600.0
    """How often the pruning job runs (and, on PostgreSQL, makes the next days' partitions)."""
    prune_batch: Annotated[int, Meta(ge=100, le=1_000_000)] = 5000
    """Rows deleted in one transaction where rows are deleted (SQLite, and PostgreSQL's
    default partition)."""

    def __post_init__(self) -> None:
        check_unique("pii_patterns[{}].name", [p.name for p in self.pii_patterns], "pattern name")
