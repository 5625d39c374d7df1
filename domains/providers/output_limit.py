"""The most output tokens a request may produce, read from its body and the model's limit.

Budgets reserve this before the upstream call, so a value the body gets wrong (not an integer,
not positive) is ignored in favour of the next source rather than trusted or refused here:
the body is validated elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

RequestKind = Literal["chat", "messages", "embeddings"]


def max_output_tokens(
    body: Mapping[str, Any], *, kind: RequestKind, model_max: int | None, default: int
) -> int:
    """The largest number of output tokens ``body`` can be answered with.

    - ``chat`` (OpenAI): ``max_completion_tokens``, else ``max_tokens``, else ``model_max``,
      else ``default``; times ``n`` when more than one choice is asked for.
    - ``messages`` (Anthropic): ``max_tokens`` capped by ``model_max``; without a usable
      ``max_tokens``, ``model_max`` else ``default``.
    - ``embeddings``: 0.
    """
    if kind == "embeddings":
        return 0
    cap = _positive(model_max)
    fallback = max(default, 0) if cap is None else cap
    if kind == "messages":
        asked = _positive(_get(body, "max_tokens"))
        if asked is None:
            return fallback
        return asked if cap is None else min(asked, cap)
    limit = _positive(_get(body, "max_completion_tokens"))
    if limit is None:
        limit = _positive(_get(body, "max_tokens"))
    if limit is None:
        limit = fallback
    return limit * (_positive(_get(body, "n")) or 1)


def _get(body: Mapping[str, Any], key: str) -> object:
    return body.get(key) if isinstance(body, Mapping) else None


def _positive(value: object) -> int | None:
    """``value`` when it is an integer of at least 1 (a bool is not an integer here)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return None
