"""OpenAI `chat.completion.chunk` stream → Gemini `streamGenerateContent` events, one chunk at a
time; and the other stream endings of the Gemini routes.

The opposite of `infrastructure.adapters.providers.gemini_stream`. Each event is a
`GenerateContentResponse` in an SSE `data:` line, ended with CRLF CRLF as Google ends them. Text
goes out as it comes, one candidate per choice; a tool call goes out whole (Gemini streams a
`functionCall` in one piece, its `args` an object) with the candidate's `finishReason` and the
`usageMetadata`, in the last event, as Gemini ends its streams (with an empty text part when it
has nothing else to say). OpenAI sends the usage after the
finish_reason, so that event waits for it (or for `finish()`).

`sse_error` and `stream_cut` end a stream passed natively in Gemini's own events (an upstream
error, a cut at the reservation); `sse_to_json_array` gives a stream as the progressively written
JSON array `streamGenerateContent` answers without `alt=sse`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import msgspec

from application.providers.stream_relay import CutEnding
from domains.providers.errors import UpstreamError
from domains.providers.model import answered_model
from domains.providers.ports import Usage
from domains.providers.upstream_failures import BY_CODE
from infrastructure.adapters.providers.sse import SseSplitter, data_values, event_fields
from interfaces.http.gemini.translate_response import (
    candidate_index,
    finish_reason,
    function_call,
    google_error,
    reasoning_text,
    usage_metadata,
)

SEPARATOR = b"\r\n\r\n"  # Google ends every event with CRLF CRLF
# OpenAI error types (as the gateway writes them in a stream) → the status to tell
_STATUS_BY_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "rate_limit_error": 429,
    "insufficient_quota": 429,
    "service_unavailable": 503,
    "timeout": 504,
}


def sse_event(data: Mapping[str, Any]) -> bytes:
    return b"data: " + msgspec.json.encode(data) + SEPARATOR


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def stream_error(error: Any) -> dict[str, Any]:
    """An OpenAI stream error object → Google's error body, its status from the one table of
    upstream conditions (by `code`), else from the error's `type`."""
    error = _dict(error)
    code, kind = error.get("code"), error.get("type")
    answer = BY_CODE.get(code) if isinstance(code, str) else None
    status = (
        answer.status
        if answer
        else _STATUS_BY_TYPE.get(kind, 500)
        if isinstance(kind, str)
        else 500
    )
    message = error.get("message")
    text = message if isinstance(message, str) and message else "The upstream stream failed."
    return google_error(status, text)


class ChatChunksToGemini:
    """Feed it each parsed OpenAI chunk; send on the Gemini responses it returns; call `finish()`
    when the upstream stream ends. `done` is true once the last response (or an error) has been
    returned; later chunks are ignored."""

    def __init__(self, *, model: str, response_id: str, thoughts: bool = False) -> None:
        self._model = model
        self._id = response_id
        self._thoughts = thoughts
        self._started = False
        self._calls: dict[int, dict[object, dict[str, str]]] = {}  # by choice, by call
        self._finished: dict[int, str] = {}  # choice index → finishReason
        self._usage: dict[str, int] | None = None
        self.done = False

    def _response(
        self, candidates: list[dict[str, Any]], usage: dict[str, int] | None = None
    ) -> dict[str, Any]:
        response: dict[str, Any] = {"candidates": candidates} if candidates else {}
        if usage is not None:
            response["usageMetadata"] = usage
        return {**response, "modelVersion": self._model, "responseId": self._id}

    def feed(self, chunk: Any) -> list[dict[str, Any]]:
        if self.done or not isinstance(chunk, Mapping):
            return []
        if chunk.get("error") is not None:
            self.done = True
            return [stream_error(chunk["error"])]
        if not self._started:  # the model that answered, as the first chunk names it
            self._started = True
            self._model = answered_model(chunk.get("model"), self._model)
        usage = chunk.get("usage")
        if isinstance(usage, Mapping):
            self._usage = usage_metadata(usage)
        choices = chunk.get("choices")
        choices = choices if isinstance(choices, list) else []
        candidates = []
        for position, choice in enumerate(map(_dict, choices)):
            index = candidate_index(choice, position)
            parts = self._delta(index, _dict(choice.get("delta")))
            finish = choice.get("finish_reason")
            if finish is not None and index not in self._finished:
                self._finished[index] = finish_reason(finish)
            if parts:
                candidates.append({"content": {"parts": parts, "role": "model"}, "index": index})
        out = [self._response(candidates)] if candidates else []
        # OpenAI's last chunk carries the usage and no choices; some upstreams put the usage on
        # the finish_reason chunk itself.
        if isinstance(usage, Mapping) and (self._finished or not choices):
            out += self._end()
        return out

    def finish(self) -> list[dict[str, Any]]:
        """The upstream stream ended: the last response, if it is still due."""
        return [] if self.done else self._end()

    def _delta(self, index: int, delta: Mapping[str, Any]) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if self._thoughts and (reasoning := reasoning_text(delta)):
            parts.append({"text": reasoning, "thought": True})
        for key in ("content", "refusal"):
            text = delta.get(key)
            if isinstance(text, str) and text:
                parts.append({"text": text})
        calls = delta.get("tool_calls")
        for call in map(_dict, calls if isinstance(calls, list) else ()):
            self._tool_call(index, call)
        return parts

    def _tool_call(self, index: int, call: Mapping[str, Any]) -> None:
        """Gathers a call's pieces (its id and name come first, its arguments in pieces)."""
        calls = self._calls.setdefault(index, {})
        position, call_id = call.get("index"), call.get("id")
        key: object
        if isinstance(position, int) and not isinstance(position, bool):
            key = position
        elif isinstance(call_id, str) and call_id:
            key = call_id
        else:  # neither index nor id: a piece of the latest call
            key = next(reversed(calls), 0)
        gathered = calls.setdefault(key, {"id": "", "name": "", "arguments": ""})
        function = _dict(call.get("function"))
        if isinstance(call_id, str) and call_id and not gathered["id"]:
            gathered["id"] = call_id
        name = function.get("name")
        if isinstance(name, str) and name and not gathered["name"]:
            gathered["name"] = name
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            gathered["arguments"] += arguments

    def _end(self) -> list[dict[str, Any]]:
        self.done = True
        candidates = []
        for index in sorted(set(self._finished) | set(self._calls)):
            calls = self._calls.get(index, {}).values()
            made = (function_call(c["id"], c["name"], c["arguments"]) for c in calls)
            parts = [part for part in made if part is not None] or [{"text": ""}]
            candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
            if index in self._finished:
                candidate["finishReason"] = self._finished[index]
            candidates.append({**candidate, "index": index})
        if not candidates and self._usage is None:
            return []
        return [self._response(candidates, self._usage)]


async def chat_sse_to_gemini(
    chunks: AsyncIterator[bytes], model: str, response_id: str, *, thoughts: bool = False
) -> AsyncIterator[bytes]:
    """OpenAI SSE from the pipeline → Gemini's events, as the chunks arrive."""
    translator = ChatChunksToGemini(model=model, response_id=response_id, thoughts=thoughts)
    splitter = SseSplitter()
    async with contextlib.aclosing(chunks):  # type: ignore[type-var]
        async for data in chunks:
            out = b""
            for parsed in data_values(splitter, data):
                out += b"".join(sse_event(response) for response in translator.feed(parsed))
            if out:
                yield out
    tail = b"".join(sse_event(response) for response in translator.finish())
    if tail:
        yield tail


async def sse_to_json_array(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Gemini's events → the JSON array `streamGenerateContent` answers without `alt=sse`,
    written element by element as the events come (an error, too, is an element)."""
    splitter = SseSplitter()
    opened = False

    def elements(events: list[bytes]) -> bytes:
        nonlocal opened
        out = b""
        for event in events:
            _, payload = event_fields(event)
            if payload is not None and payload.strip():
                out += (b",\r\n" if opened else b"[") + payload
                opened = True
        return out

    async with contextlib.aclosing(chunks):  # type: ignore[type-var]
        async for data in chunks:
            out = elements(splitter.feed(data))
            if out:
                yield out
    rest = splitter.rest()
    yield elements([rest] if rest is not None else []) + (b"]" if opened else b"[]")


def sse_error(error: UpstreamError) -> bytes:
    """An upstream failure in the middle of a Gemini stream: the event Google sends for one
    (the SDK raises it)."""
    return sse_event(google_error(error.status, error.message, error.retry_after))


def stream_cut(model: str, response_id: str, candidates: int) -> CutEnding:
    """The end of a native stream cut at its reservation: every candidate finished for
    MAX_TOKENS, with the usage the call is billed for."""

    def ending(usage: Usage) -> bytes:
        thoughts = min(max(usage.reasoning_tokens, 0), usage.output_tokens)
        metadata = {
            "promptTokenCount": usage.input_tokens,
            "candidatesTokenCount": usage.output_tokens - thoughts,
            "totalTokenCount": usage.input_tokens + usage.output_tokens,
        }
        if usage.cached_tokens:
            metadata["cachedContentTokenCount"] = usage.cached_tokens
        if thoughts:
            metadata["thoughtsTokenCount"] = thoughts
        finished = [
            {
                "content": {"parts": [{"text": ""}], "role": "model"},
                "finishReason": "MAX_TOKENS",
                "index": i,
            }
            for i in range(max(candidates, 1))
        ]
        return sse_event(
            {
                "candidates": finished,
                "usageMetadata": metadata,
                "modelVersion": model,
                "responseId": response_id,
            }
        )

    return ending
