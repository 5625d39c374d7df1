"""Gemini's own API passed through untouched (the Gemini routes to a Gemini model): the events of
`streamGenerateContent?alt=sse` go to the client as Google sent them while the gateway reads the
usage and the output's length from them, and stops passing them on past what the call reserved;
and a `countTokens` body made to name the upstream's model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from domains.providers.errors import UpstreamError
from infrastructure.adapters.providers.error_reading import ErrorReading
from infrastructure.adapters.providers.gemini_answer import (
    blocked,
    candidate_parts,
    openai_usage,
)
from infrastructure.adapters.providers.gemini_errors import stream_error
from infrastructure.adapters.providers.sse import event_fields
from infrastructure.adapters.providers.upstream_stream import UpstreamStream

SEPARATOR = b"\r\n\r\n"  # Google ends every event with CRLF CRLF
_decoder = msgspec.json.Decoder()


class NativeGeminiStream(UpstreamStream):
    """An error event raises `UpstreamError` once the events before it have been passed on."""

    _failed: UpstreamError | None = None

    def _on_events(self, events: list[bytes]) -> bytes:
        tally = self.tally
        passed: list[bytes] = []
        for event in events:
            if self._failed is None:
                self._watch(event)
            if self._failed is not None:
                if not passed:
                    raise self._failed
                break
            passed.append(event.replace(b"\n", b"\r\n"))
            if tally.output_chars > tally.most_chars:
                break  # past what the call reserved: the gateway cuts here
        return b"".join(event + SEPARATOR for event in passed)

    def _on_end(self, rest: bytes | None) -> bytes:
        if self._failed is not None:
            raise self._failed
        return super()._on_end(rest)

    def _watch(self, event: bytes) -> None:
        _, data = event_fields(event)
        if data is None:
            return
        try:
            parsed: Any = _decoder.decode(data)
        except (msgspec.DecodeError, RecursionError):
            return
        if not isinstance(parsed, Mapping):
            return
        if parsed.get("error") is not None:  # scrubbed like any other upstream error
            error = stream_error(parsed["error"])
            reading = ErrorReading(error.condition, error.message, error.param, error.retry_after)
            self._failed = self._http.failed(reading, upstream_status=error.upstream_status)
            return
        tally = self.tally
        if isinstance(parsed.get("usageMetadata"), Mapping):
            tally.usage = openai_usage(parsed["usageMetadata"])[1]
        candidates = parsed.get("candidates")
        for candidate in candidates if isinstance(candidates, list) else ():
            if not isinstance(candidate, Mapping):
                continue
            texts, calls = candidate_parts(candidate)
            tally.output_chars += sum(map(len, texts)) + sum(len(args) for _, args in calls)
            if candidate.get("finishReason"):
                tally.finished = True
        if not candidates and blocked(parsed):
            tally.finished = True


def counted_body(body: Mapping[str, Any], upstream_model: str) -> dict[str, Any] | None:
    """A `countTokens` body whose `generateContentRequest` names the upstream's model (Google
    requires it to name the model of the URL); None when the body needs no change."""
    for key in ("generateContentRequest", "generate_content_request"):
        inner = body.get(key)
        if isinstance(inner, Mapping):
            model = f"models/{upstream_model}"
            if inner.get("model") == model:
                return None
            return {**body, key: {**inner, "model": model}}
    return None
