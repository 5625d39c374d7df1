"""Reading a Gemini API body as Google's proto-JSON front end does (pure): each field by its
lowerCamelCase JSON name or by its original snake_case name, and the checks every translator of
these routes shares. Only `InvalidRequest` (a 400 naming the field) leaves here."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from domains.providers.errors import InvalidRequest

_UPPER = re.compile(r"([A-Z])")


def snake(name: str) -> str:
    """`inlineData` → `inline_data`."""
    return _UPPER.sub(r"_\1", name).lower()


def field(body: Mapping[str, Any], name: str) -> Any:
    """The value of field `name` (lowerCamelCase), sent under that name or its snake_case one;
    None when absent (proto-JSON reads `null` as absent too)."""
    value = body.get(name)
    if value is None and name != (other := snake(name)):
        value = body.get(other)
    return value


def check(ok: bool, param: str, what: str) -> None:
    if not ok:
        raise InvalidRequest(f"`{param}` {what}." if param else f"{what}.", param=param or None)


def obj(value: Any, param: str) -> Mapping[str, Any]:
    """`value` when it is a JSON object; absent is an empty one; anything else a 400."""
    if value is None:
        return {}
    check(isinstance(value, Mapping), param, "must be an object")
    return value  # type: ignore[no-any-return]


def array(value: Any, param: str) -> list[Any]:
    """`value` when it is a JSON array; absent is an empty one; anything else a 400."""
    if value is None:
        return []
    check(isinstance(value, list), param, "must be an array")
    return value  # type: ignore[no-any-return]


def string(value: Any, param: str, *, empty: bool = True) -> str:
    ok = isinstance(value, str) and (empty or value != "")
    check(ok, param, "must be a string" if empty else "must be a non-empty string")
    return str(value)


def integer(value: Any, param: str, *, least: int | None = None, most: int | None = None) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool)
    check(ok, param, "must be an integer")
    if (least is not None and value < least) or (most is not None and value > most):
        bounds = f"from {least}" if most is None else f"from {least} to {most}"
        raise InvalidRequest(f"`{param}` must be an integer {bounds}.", param=param)
    return int(value)


def number(value: Any, param: str, *, least: float, most: float) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    check(
        ok and math.isfinite(value) and least <= value <= most,
        param,
        f"must be a number in [{least:g}, {most:g}]",
    )
    return value  # type: ignore[no-any-return]


def boolean(value: Any, param: str) -> bool:
    check(isinstance(value, bool), param, "must be a boolean")
    return bool(value)
