"""Checks on decoded JSON values shared by the Gemini request translators (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
