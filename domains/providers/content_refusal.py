"""Whether an upstream's answer is a content refusal: the model (or the provider's filter)
declined to answer for the content's sake. Read from the bytes the client would get, in any of
the shapes the gateway passes on (pure, never raises):

- OpenAI chat (and every provider translated to it): a choice whose `finish_reason` is
  `content_filter` (Anthropic's `refusal` and Gemini's safety family are translated to it);
- Anthropic Messages: `stop_reason: "refusal"` (a whole message, or a stream's `message_delta`);
- Gemini: a candidate's `finishReason` of the safety family (`SAFETY`, `PROHIBITED_CONTENT`,
  `BLOCKLIST`...), or `promptFeedback.blockReason` (the prompt itself was blocked);
- OpenAI Responses: `incomplete_details.reason: "content_filter"`.

A whole answer is one JSON document; a stream's bytes are server-sent events (`data: {...}`
lines). An OpenAI 400 whose code is
`content_policy_violation` (or `content_filter`) is read where the error is read
(`UpstreamError.content_refused`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

GEMINI_FILTERED = frozenset(
    {
        "SAFETY",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
    }
)
"""Gemini's finish reasons that mean the answer was withheld for its content."""

REFUSAL_CODES = frozenset({"content_policy_violation", "content_filter"})
"""OpenAI (and Azure OpenAI) error codes of a request refused for its content."""

_MARKERS = (
    b"content_filter",
    b'"refusal"',
    b"blockReason",
    *(reason.encode() for reason in GEMINI_FILTERED),
)
_decoder = msgspec.json.Decoder()


def refused(payload: bytes) -> bool:
    """Whether `payload` (a whole answer, or the first events of a stream) holds a refusal."""
    if not any(marker in payload for marker in _MARKERS):  # the common case: no parsing
        return False
    return any(_refuses(document) for document in _documents(payload))


def _documents(payload: bytes) -> Iterator[Any]:
    stripped = payload.strip()
    if stripped.startswith((b"{", b"[")):
        try:
            whole = _decoder.decode(stripped)
        except (msgspec.DecodeError, RecursionError):
            whole = None
        if isinstance(whole, list):
            yield from whole
            return
        if whole is not None:
            yield whole
            return
    for line in payload.splitlines():
        if line.startswith(b"data:"):
            data = line[5:].strip()
            if data.startswith(b"{"):
                try:
                    yield _decoder.decode(data)
                except (msgspec.DecodeError, RecursionError):
                    continue


def _refuses(document: Any) -> bool:
    if not isinstance(document, Mapping):
        return False
    choices = document.get("choices")
    if isinstance(choices, list) and any(
        isinstance(choice, Mapping) and choice.get("finish_reason") == "content_filter"
        for choice in choices
    ):
        return True
    if document.get("stop_reason") == "refusal":
        return True
    delta = document.get("delta")
    if isinstance(delta, Mapping) and delta.get("stop_reason") == "refusal":
        return True
    candidates = document.get("candidates")
    if isinstance(candidates, list) and any(
        isinstance(candidate, Mapping) and candidate.get("finishReason") in GEMINI_FILTERED
        for candidate in candidates
    ):
        return True
    feedback = document.get("promptFeedback")
    if isinstance(feedback, Mapping) and feedback.get("blockReason"):
        return True
    response = document.get("response")
    incomplete = (response if isinstance(response, Mapping) else document).get("incomplete_details")
    return isinstance(incomplete, Mapping) and incomplete.get("reason") == "content_filter"
