"""A page of a stored response's input items, as OpenAI lists them (`ResponseItemList`):
`data`, `first_id`, `last_id`, `has_more`; `order` asc (oldest first) or desc (the default),
`after` an item id to continue after, `limit` items at most."""

from __future__ import annotations

from typing import Any, Literal

from interfaces.http.errors import ApiError


def items_page(
    items: list[dict[str, Any]],
    *,
    limit: int,
    order: Literal["asc", "desc"],
    after: str | None,
) -> dict[str, Any]:
    ordered = items if order == "asc" else items[::-1]
    start = 0
    if after is not None:
        ids = [item.get("id") for item in ordered]
        if after not in ids:
            raise ApiError(
                400,
                f"No input item of this response has the id '{after[:200]}'.",
                code="invalid_value",
                param="after",
            )
        start = ids.index(after) + 1
    data = ordered[start : start + limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0].get("id") if data else None,
        "last_id": data[-1].get("id") if data else None,
        "has_more": start + limit < len(ordered),
    }
