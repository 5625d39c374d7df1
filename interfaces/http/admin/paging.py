"""Keyset paging of the admin API's lists of orgs, teams and keys, and their query parameters.

A list answers `{rows, next_after_id}`: ask again with `after_id=<next_after_id>` (and the same
filters) for the next page; `next_after_id` is null on the last page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Protocol

from litestar.params import Parameter

# `Annotated[str | None, Parameter(...)]`: a constraint on `Annotated[str, ...] | None` is not
# checked
QueryId = Annotated[str | None, Parameter(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]
Limit = Annotated[int, Parameter(ge=1, le=200, description="rows in a page (1-200)")]
AfterId = Annotated[
    str | None,
    Parameter(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="continue after this id: the previous page's `next_after_id`",
    ),
]
DEFAULT_LIMIT = 50


class HasId(Protocol):
    @property
    def id(self) -> str: ...


def next_after_id(rows: Sequence[HasId], limit: int) -> str | None:
    """Where the next page starts, or None when this page is the last."""
    return rows[-1].id if len(rows) == limit else None
