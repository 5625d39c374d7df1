"""The most output tokens a request may produce, read from its body and the model's limit; and
the body that asks the upstream for no more than a reservation allows.

Budgets reserve this before the upstream call, so a value the body gets wrong (not an integer,
not positive) is ignored in favour of the next source rather than trusted or refused here:
the body is validated elsewhere (values above `MAX_OUTPUT_TOKENS_ASKED` are refused there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from domains.providers.passed_body import with_members

NativeKind = Literal["messages", "responses", "completions", "gemini"]
"""A dialect a provider may take as it is: Anthropic Messages, OpenAI Responses, OpenAI's legacy
text completions, Gemini's generateContent."""
RequestKind = Literal["chat", "embeddings", "messages", "responses", "completions", "gemini"]

COMPLETIONS_DEFAULT_MAX_TOKENS = 16
"""What OpenAI's legacy completions produce at most when `max_tokens` is not given."""

LEAST_OUTPUT_ASKED: Mapping[RequestKind, int] = {"responses": 16}
"""The fewest output tokens a dialect's upstream may be asked for: OpenAI's Responses API
refuses a `max_output_tokens` under 16. A request of such a dialect is sent asking at least
that many, and reserves for them."""

# The largest `max_tokens` (or `max_completion_tokens`) a request may name: no model produces
# more, Gemini's field is a 32-bit integer, and costs of such counts stay exact and printable.
MAX_OUTPUT_TOKENS_ASKED = 2**31 - 1


def max_output_tokens(
    body: Mapping[str, Any], *, kind: RequestKind, model_max: int | None, default: int
) -> int:
    """The largest number of output tokens ``body`` can be answered with.

    - ``chat`` (OpenAI): ``max_completion_tokens``, else ``max_tokens``, else ``model_max``,
      else ``default``; times ``n`` when more than one choice is asked for.
    - ``messages`` (Anthropic): ``max_tokens`` capped by ``model_max``; without a usable
      ``max_tokens``, ``model_max`` else ``default``.
    - ``responses`` (OpenAI Responses): ``max_output_tokens``, as ``messages`` reads its field,
      never under ``LEAST_OUTPUT_ASKED`` (what the upstream is asked for at least).
    - ``completions`` (OpenAI legacy): ``max_tokens`` (else OpenAI's default, 16), times the
      choices made (`completions_choices`).
    - ``gemini``: ``generationConfig.maxOutputTokens`` (else as chat), times
      ``generationConfig.candidateCount``.
    - ``embeddings``: 0.
    """
    if kind == "embeddings":
        return 0
    cap = _positive(model_max)
    fallback = max(default, 0) if cap is None else cap
    if kind in ("messages", "responses"):
        asked = _positive(_get(body, "max_tokens" if kind == "messages" else "max_output_tokens"))
        most = fallback if asked is None else asked if cap is None else min(asked, cap)
        return max(most, least_output(kind))
    if kind == "completions":
        each = _positive(_get(body, "max_tokens")) or COMPLETIONS_DEFAULT_MAX_TOKENS
        return each * completions_choices(body)
    if kind == "gemini":
        config = _get(body, _gemini_name(body, "generationConfig"))
        config = config if isinstance(config, Mapping) else {}
        each = _positive(_get(config, _gemini_name(config, "maxOutputTokens"))) or fallback
        return each * (_positive(_get(config, _gemini_name(config, "candidateCount"))) or 1)
    limit = _positive(_get(body, "max_completion_tokens"))
    if limit is None:
        limit = _positive(_get(body, "max_tokens"))
    if limit is None:
        limit = fallback
    return limit * (_positive(_get(body, "n")) or 1)


def limited_body(
    body: dict[str, Any], *, kind: RequestKind, reserved: int, newer_field: bool
) -> dict[str, Any]:
    """``body`` asking the upstream for at most ``reserved`` output tokens in all (the body
    itself when it already does; else a copy with the limit in the dialect's own field).

    - ``chat`` (OpenAI): per choice, ``reserved`` divided by ``n``, in the field the body uses
      (``max_completion_tokens`` wins, as in `max_output_tokens`); when it names neither,
      ``max_completion_tokens`` if ``newer_field`` (OpenAI's own API, whose reasoning models
      refuse ``max_tokens``), else ``max_tokens`` (what every OpenAI-compatible server reads).
      The adapters of other vendors translate either field into theirs.
    - ``messages`` (Anthropic): ``max_tokens``; ``responses``: ``max_output_tokens``, never
      under ``LEAST_OUTPUT_ASKED`` (a reservation of fewer still asks for that many).
    - ``completions``: ``max_tokens`` per choice (``reserved`` divided by the choices made),
      unless what it asks for (OpenAI's default when it names none) is within that already.
    - ``gemini``: ``generationConfig.maxOutputTokens`` per candidate (or their snake_case
      names, when the body uses those).
    """
    if kind == "embeddings" or reserved < 1:
        return body
    if kind == "gemini":
        key = _gemini_name(body, "generationConfig")
        config = _get(body, key)
        config = dict(config) if isinstance(config, Mapping) else {}
        limit = max(
            reserved // (_positive(_get(config, _gemini_name(config, "candidateCount"))) or 1), 1
        )
        field = _gemini_name(config, "maxOutputTokens")
        asked = _positive(_get(config, field))
        if asked is not None and asked <= limit:
            return body
        return with_members(body, **{key: {**config, field: limit}})  # a PassedBody stays one
    if kind in ("messages", "responses"):
        field = "max_tokens" if kind == "messages" else "max_output_tokens"
        limit = max(reserved, least_output(kind))
    elif kind == "completions":
        field, limit = "max_tokens", max(reserved // completions_choices(body), 1)
    else:
        limit = max(reserved // (_positive(_get(body, "n")) or 1), 1)
        if _positive(_get(body, "max_completion_tokens")) is not None:
            field = "max_completion_tokens"
        elif _positive(_get(body, "max_tokens")) is not None:
            field = "max_tokens"
        else:
            field = "max_completion_tokens" if newer_field else "max_tokens"
    asked = _positive(_get(body, field))
    if asked is None and kind == "completions":
        asked = COMPLETIONS_DEFAULT_MAX_TOKENS
    if asked is not None and asked <= limit:
        return body
    return with_members(body, **{field: limit})  # a PassedBody stays one


def least_output(kind: RequestKind) -> int:
    """The fewest output tokens a `kind` body may ask its upstream for (0: no least)."""
    return LEAST_OUTPUT_ASKED.get(kind, 0)


def completions_choices(body: Mapping[str, Any]) -> int:
    """The choices a legacy completions body makes: the larger of ``n`` and ``best_of`` (the
    upstream generates ``best_of`` and bills them all) for each of its prompts (a list of
    strings or of token arrays is several)."""
    prompt = _get(body, "prompt")
    several = isinstance(prompt, list) and (
        all(isinstance(item, str) for item in prompt)
        or all(isinstance(item, list) for item in prompt)
    )
    prompts = len(prompt) if several and isinstance(prompt, list) and prompt else 1
    return max(_positive(_get(body, "n")) or 1, _positive(_get(body, "best_of")) or 1) * prompts


def _gemini_name(body: object, camel: str) -> str:
    """The name a Gemini body gives a field: its lowerCamelCase JSON name, or the snake_case one
    Google's proto-JSON also takes when only that one is there."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    if isinstance(body, Mapping) and camel not in body and snake in body:
        return snake
    return camel


def _get(body: Mapping[str, Any], key: str) -> object:
    return body.get(key) if isinstance(body, Mapping) else None


def _positive(value: object) -> int | None:
    """``value`` when it is an integer of at least 1 (a bool is not an integer here)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return None
