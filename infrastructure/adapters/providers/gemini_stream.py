"""Gemini API v1beta answers → OpenAI shapes: finish reasons, usage, tool call ids, error bodies,
and the stream translator (one parsed `streamGenerateContent?alt=sse` event in, the OpenAI
`chat.completion.chunk`s to send out). Pure: no I/O; junk in never raises anything unexpected.

Public names are re-exported by `gemini_wire`; import them from there.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import msgspec

from domains.providers.errors import UpstreamError
from domains.providers.ports import Usage

# Every Gemini FinishReason that means "the output was withheld or cut by a filter".
_FILTERED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)
_BY_GRPC_STATUS = {
    "RESOURCE_EXHAUSTED": 429,
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "NOT_FOUND": 404,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_ERROR_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "timeout",
}
_DURATION = re.compile(r"\s*(\d{1,15})(?:\.(\d{1,9}))?s\s*")
_encoder = msgspec.json.Encoder()


def finish_reason(reason: str | None) -> str | None:
    """OpenAI's finish_reason for a Gemini FinishReason.

    STOP → stop, MAX_TOKENS → length, the safety/recitation/blocklist family → content_filter.
    Everything else (MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, OTHER, LANGUAGE, unknown
    future values...) → stop: OpenAI has no closer value, and the output received so far is
    still delivered as it is. None (not finished yet) → None.
    """
    if not reason:
        return None
    if reason == "MAX_TOKENS":
        return "length"
    if reason in _FILTERED:
        return "content_filter"
    return "stop"


def call_id(completion_id: str, index: int) -> str:
    """The id of the index-th tool call of a completion: deterministic, `call_` + 24 hex."""
    return "call_" + hashlib.sha256(f"{completion_id}:{index}".encode()).hexdigest()[:24]


def _count(metadata: Mapping[str, Any], key: str) -> int:
    value = metadata.get(key)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def openai_usage(metadata: Any) -> tuple[dict[str, Any], Usage]:
    """A Gemini usageMetadata as OpenAI's usage object and the gateway's Usage. Thinking tokens
    are output tokens (billed as such); promptTokenCount already includes the cached ones."""
    metadata = metadata if isinstance(metadata, Mapping) else {}
    prompt = _count(metadata, "promptTokenCount")
    thoughts = _count(metadata, "thoughtsTokenCount")
    completion = _count(metadata, "candidatesTokenCount") + thoughts
    cached = _count(metadata, "cachedContentTokenCount")
    body = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }
    return body, Usage(input_tokens=prompt, output_tokens=completion, cached_tokens=cached)


def _compact_json(value: Any) -> str:
    try:
        return _encoder.encode({} if value is None else value).decode()
    except (TypeError, ValueError, OverflowError, RecursionError, msgspec.EncodeError):
        return "{}"


def candidate_index(candidate: Mapping[str, Any]) -> int | None:
    """The candidate's `index`; None when absent (proto3 JSON leaves out a 0)."""
    index = candidate.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) and index >= 0 else None


def candidate_parts(candidate: Mapping[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """The answer texts (thought summaries left out) and the (name, JSON arguments) of the
    function calls of one candidate."""
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, Mapping) else None
    texts: list[str] = []
    calls: list[tuple[str, str]] = []
    for part in parts if isinstance(parts, list) else ():
        if not isinstance(part, Mapping) or part.get("thought") is True:
            continue
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        call = part.get("functionCall")
        if isinstance(call, Mapping) and isinstance(call.get("name"), str):
            calls.append((call["name"], _compact_json(call.get("args"))))
    return texts, calls


def blocked(response: Mapping[str, Any]) -> bool:
    """Whether the prompt itself was blocked (then Gemini sends no candidate)."""
    feedback = response.get("promptFeedback")
    return isinstance(feedback, Mapping) and bool(feedback.get("blockReason"))


# --- errors ----------------------------------------------------------------------------------


def _retry_delay(details: Any) -> str | None:
    """The RetryInfo delay in whole seconds, fractions rounded up ("7.2s" → "8")."""
    for detail in details if isinstance(details, list) else ():
        delay = detail.get("retryDelay") if isinstance(detail, Mapping) else None
        match = _DURATION.fullmatch(delay) if isinstance(delay, str) else None
        if match:
            fraction = match[2] is not None and int(match[2]) > 0
            return str(int(match[1]) + fraction)
    return None


def _facts(
    status: int, error: Mapping[str, Any], message: str, retry_header: str | None
) -> tuple[int, str, str, str | None, str | None]:
    grpc = error.get("status")
    grpc = grpc if isinstance(grpc, str) and grpc else None
    if grpc in _BY_GRPC_STATUS:
        gateway = _BY_GRPC_STATUS[grpc]
    elif 400 <= status < 500 or status in (503, 504):
        gateway = status
    else:
        gateway = 502
    retry_after = None
    if gateway in (429, 503):
        header = retry_header.strip() if retry_header else ""
        retry_after = _retry_delay(error.get("details")) or header or None
    error_type = _ERROR_TYPES.get(gateway, "invalid_request_error")
    return gateway, message, error_type, grpc.lower() if grpc else None, retry_after


def error_facts(
    status: int, body: bytes, headers_retry_after: str | None
) -> tuple[int, str, str, str | None, str | None]:
    """(gateway status, message, OpenAI error type, code, retry_after) of a Gemini error answer,
    from `{"error": {"code", "message", "status", "details"}}` or whatever came. Never raises."""
    try:
        parsed = msgspec.json.decode(body)
    except (msgspec.DecodeError, ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, list) and parsed:  # the streaming endpoint wraps errors in an array
        parsed = parsed[0]
    error = parsed.get("error") if isinstance(parsed, dict) else None
    text = body[:500].decode("utf-8", "replace").strip() or "no error message"
    if not isinstance(error, dict):
        message = error if isinstance(error, str) and error else text
        return _facts(status, {}, message, headers_retry_after)
    raw = error.get("message")
    return _facts(status, error, raw if isinstance(raw, str) and raw else text, headers_retry_after)


def _stream_error(error: Any) -> UpstreamError:
    error = error if isinstance(error, Mapping) else {"message": str(error)[:500]}
    code = error.get("code")
    upstream = code if isinstance(code, int) and 100 <= code <= 599 else None
    raw = error.get("message")
    message = raw if isinstance(raw, str) and raw else "no error message"
    status, message, error_type, code_name, retry_after = _facts(
        upstream or 500, error, message, None
    )
    return UpstreamError(
        status,
        message,
        error_type=error_type,
        code=code_name,
        retry_after=retry_after,
        upstream_status=upstream,
    )


# --- streaming -------------------------------------------------------------------------------


class StreamTranslator:
    """Turns the events of one Gemini stream into OpenAI chunks, keeping the tally."""

    def __init__(
        self, *, model: str, created: int, completion_id: str, include_usage: bool
    ) -> None:
        self.model = model
        self.created = created
        self.completion_id = completion_id
        self.include_usage = include_usage
        self.usage: Usage | None = None
        self.finished = False
        self.output_chars = 0
        self._usage_body: dict[str, Any] | None = None
        self._started: set[int] = set()
        self._ended: set[int] = set()
        self._with_calls: set[int] = set()
        self._calls = 0

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **extra,
        }

    def _delta(
        self, index: int, delta: dict[str, Any], finish: str | None = None
    ) -> dict[str, Any]:
        return self._chunk([{"index": index, "delta": delta, "finish_reason": finish}])

    def _start(self, index: int) -> list[dict[str, Any]]:
        if index in self._started:
            return []
        self._started.add(index)
        return [self._delta(index, {"role": "assistant", "content": ""})]

    def _end(self, index: int, reason: str | None) -> list[dict[str, Any]]:
        if reason is None or index in self._ended:
            return []
        self._ended.add(index)
        if reason == "stop" and index in self._with_calls:
            reason = "tool_calls"
        return [self._delta(index, {}, reason)]

    def _candidate(self, index: int, candidate: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = self._start(index)
        texts, calls = candidate_parts(candidate)
        text = "".join(texts)
        if text:
            self.output_chars += len(text)
            out.append(self._delta(index, {"content": text}))
        for name, arguments in calls:
            call = {
                "index": self._calls,
                "id": call_id(self.completion_id, self._calls),
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            self._calls += 1
            self._with_calls.add(index)
            self.output_chars += len(arguments)
            out.append(self._delta(index, {"tool_calls": [call]}))
        reason = candidate.get("finishReason")
        return out + self._end(index, finish_reason(reason if isinstance(reason, str) else None))

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The chunks for one parsed SSE `data:` object; an error event raises UpstreamError."""
        if not isinstance(event, Mapping):
            return []
        if event.get("error") is not None:
            raise _stream_error(event["error"])
        if isinstance(event.get("usageMetadata"), Mapping):
            self._usage_body, self.usage = openai_usage(event["usageMetadata"])
        out: list[dict[str, Any]] = []
        candidates = event.get("candidates")
        candidates = candidates if isinstance(candidates, list) else []
        for candidate in candidates:
            if isinstance(candidate, Mapping):
                out += self._candidate(candidate_index(candidate) or 0, candidate)
        if not candidates and blocked(event):
            out += self._start(0) + self._end(0, "content_filter")
        return out

    def finish(self) -> list[dict[str, Any]]:
        """At the end of the upstream stream: the usage-only chunk if the client asked for it."""
        if self.finished:
            return []
        self.finished = True
        if not self.include_usage:
            return []
        return [self._chunk([], usage=self._usage_body or openai_usage(None)[0])]
