"""OpenAI Responses passed through untouched (`POST /v1/responses` to an OpenAI model): the
answer's usage read from the Responses shape, and the stream's events relayed to the client
byte for byte while the gateway reads from them its usage (`response.completed`,
`response.incomplete`, `response.failed`) and how much output it carried (for a cut at the
reservation).

An `error` event, or a `response.failed` one, ends the stream as a gateway error (in the
gateway's words, not the upstream's): the front door ends the client's stream with its own
`response.failed`, naming the response the client has been streaming.
"""

from __future__ import annotations

from typing import Any

import msgspec

from domains.providers.ports import Usage
from domains.providers.upstream_failures import Condition
from infrastructure.adapters.providers.error_reading import ErrorReading
from infrastructure.adapters.providers.sse import event_fields
from infrastructure.adapters.providers.upstream_stream import UpstreamStream


class _Response(msgspec.Struct):
    usage: Any = None  # read leniently by `usage_from`: a malformed count reads as 0


class _Event(msgspec.Struct):
    """What the gateway reads of one stream event; the rest passes untouched."""

    type: str = ""
    delta: Any = None
    response: _Response | None = None


class _Error(msgspec.Struct):
    code: str | None = None
    message: str | None = None
    type: str | None = None
    param: str | None = None


class _ErrorEvent(msgspec.Struct):
    type: str = ""
    code: str | None = None
    message: str | None = None
    param: str | None = None
    error: _Error | None = None


class _FailedResponse(msgspec.Struct):
    error: _Error | None = None


class _FailedEvent(msgspec.Struct):
    response: _FailedResponse | None = None


_response_decoder = msgspec.json.Decoder(_Response)
_event_decoder = msgspec.json.Decoder(_Event)
_error_decoder = msgspec.json.Decoder(_ErrorEvent)
_failed_decoder = msgspec.json.Decoder(_FailedEvent)

# The deltas whose text is output the call produces (what a cut without usage is billed by).
_OUTPUT_DELTAS = frozenset(
    {
        "response.output_text.delta",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
        "response.custom_tool_call_input.delta",
    }
)
_FINISHED = frozenset({"response.completed", "response.incomplete"})
_RESPONSE_ERRORS = {
    "rate_limit_exceeded": Condition.RATE_LIMITED,
    "server_error": Condition.SERVER_ERROR,
    "vector_store_timeout": Condition.TIMEOUT,
}


def usage_from(raw: Any) -> Usage | None:
    """The usage object of an OpenAI Responses answer (`response.usage`, also in the
    `response.completed` and `response.incomplete` stream events), None when there is none.
    `input_tokens` includes `input_tokens_details.cached_tokens`, `output_tokens` includes
    `output_tokens_details.reasoning_tokens`. Never raises: a count that is not a whole number
    of at least 0 reads as 0."""
    if not isinstance(raw, dict):
        return None
    input_details, output_details = (
        raw.get("input_tokens_details"),
        raw.get("output_tokens_details"),
    )
    return Usage(
        input_tokens=_count(raw, "input_tokens"),
        output_tokens=_count(raw, "output_tokens"),
        cached_tokens=_count(input_details, "cached_tokens"),
        reasoning_tokens=_count(output_details, "reasoning_tokens"),
    )


def _count(raw: Any, key: str) -> int:
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_of_response(body: bytes) -> Usage | None:
    """The usage of a whole Responses answer (`usage_from` its `usage`)."""
    try:
        return usage_from(_response_decoder.decode(body).usage)
    except (msgspec.DecodeError, RecursionError):
        return None


def failure_of(name: str, data: bytes) -> ErrorReading | None:
    """The condition of an `error` or `response.failed` event; None for any other event."""
    if name == "response.failed":
        try:
            failed = _failed_decoder.decode(data).response
        except (msgspec.DecodeError, RecursionError):
            failed = None
        error = failed.error if failed is not None else None
        code, message = (error.code, error.message) if error is not None else (None, None)
        return _reading(code, None, message or "The upstream could not answer.", None)
    try:
        event = _error_decoder.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None
    if event.type != "error" and name != "error":
        return None
    nested = event.error or _Error()
    code = event.code or nested.code
    message = event.message or nested.message or "The upstream stream failed."
    return _reading(code, nested.type, message, event.param or nested.param)


def _reading(code: str | None, kind: str | None, message: str, param: str | None) -> ErrorReading:
    condition = _RESPONSE_ERRORS.get(code or "")
    if condition is None and code and "rate_limit" in code:
        condition = Condition.RATE_LIMITED
    if condition is None:
        invalid = kind == "invalid_request_error" or bool(
            code and code.startswith(("invalid_", "image_"))
        )
        condition = Condition.INVALID_REQUEST if invalid else Condition.SERVER_ERROR
    return ErrorReading(condition, message, param)


class NativeResponsesStream(UpstreamStream):
    """The upstream's events, whole, as they come; none past what the call reserved, nor
    from a failure on (`failure`, raised once the events before it are passed on)."""

    def _on_events(self, events: list[bytes]) -> bytes:
        tally = self.tally
        for seen, event in enumerate(events, 1):
            if not self._watch(event):
                events = events[: seen - 1]  # the failure is the gateway's to tell
                break
            if tally.output_chars > tally.most_chars:
                events = events[:seen]  # past what the call reserved: the gateway cuts here
                break
        return b"\n\n".join(events) + b"\n\n" if events else b""

    def _watch(self, event: bytes) -> bool:
        """Reads one event; False once it says the upstream failed."""
        name, data = event_fields(event)
        if data is None:
            return True
        try:
            parsed = _event_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            parsed = _Event()
        kind = parsed.type or name or ""
        if kind in _OUTPUT_DELTAS and isinstance(parsed.delta, str):
            self.tally.output_chars += len(parsed.delta)
        elif parsed.response is not None and isinstance(parsed.response.usage, dict):
            self.tally.usage = usage_from(parsed.response.usage)
        if kind in _FINISHED:
            self.tally.finished = True
        elif kind in ("error", "response.failed"):
            failure = failure_of(kind, data)
            if failure is not None:
                self.failure = self._http.failed(failure)
                return False
        return True
