"""The `anthropic` adapter: OpenAI chat in, Anthropic Messages on the wire, OpenAI chat out."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import msgspec

from domains.providers.errors import InvalidRequest
from domains.providers.passed_body import with_members
from domains.providers.ports import UpstreamReply
from domains.shared.ids import new_id
from infrastructure.adapters.providers import anthropic_wire as wire
from infrastructure.adapters.providers.anthropic_native import NativeMessagesStream
from infrastructure.adapters.providers.anthropic_response import usage_of
from infrastructure.adapters.providers.error_reading import ErrorReading
from infrastructure.adapters.providers.legacy_functions import (
    LegacyChunks,
    legacy_reply,
    uses_legacy_functions,
)
from infrastructure.adapters.providers.passed_json import passed_json
from infrastructure.adapters.providers.translated_stream import TranslatedChatStream
from infrastructure.adapters.providers.upstream_http import UpstreamHttp, model_ids

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
MAX_PAGES = 20
PASSED_HEADERS = frozenset({"anthropic-version", "anthropic-beta"})
_encoder = msgspec.json.Encoder()


def read_anthropic_error(status: int, body: bytes, headers: Mapping[str, str]) -> ErrorReading:
    condition, message = wire.error_facts(status, body)
    return ErrorReading(condition, message, None, headers.get("retry-after"))


class AnthropicAdapter:
    def __init__(
        self,
        http: UpstreamHttp,
        *,
        base_url: str,
        api_key: str | None,
        max_output_tokens: Mapping[str, int | None],
        version: str = ANTHROPIC_VERSION,
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/v1/messages"
        self._headers = {"Content-Type": "application/json", "anthropic-version": version}
        if api_key:
            self._headers["x-api-key"] = api_key
        self._stream_headers = dict(self._headers, Accept="text/event-stream")
        self._max_output = dict(max_output_tokens)

    def _request(
        self, body: dict[str, Any], upstream_model: str, *, stream: bool
    ) -> tuple[bytes, str | None]:
        """The request to send, and the tool that carries a structured answer, if any."""
        default = self._max_output.get(upstream_model) or DEFAULT_MAX_TOKENS
        request, answer_tool = wire.structured_chat_request(
            body, upstream_model, max_tokens_default=default, stream=stream
        )
        return _encoder.encode(request), answer_tool

    async def chat(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
        payload, answer_tool = self._request(body, upstream_model, stream=False)
        async with self._http.post(self._url, payload, self._headers) as response:
            data = await self._http.read(response)
        message = self._http.decode_json(data)
        out, usage = wire.chat_response(
            message, model=upstream_model, created=int(time.time()), answer_tool=answer_tool
        )
        if uses_legacy_functions(body):
            out = legacy_reply(out)
        return UpstreamReply(body=_encoder.encode(out), usage=usage)

    async def open_chat_stream(
        self, body: dict[str, Any], upstream_model: str, *, include_usage: bool
    ) -> TranslatedChatStream:
        payload, answer_tool = self._request(body, upstream_model, stream=True)
        response = await self._http.open(self._url, payload, self._stream_headers)
        translator = wire.StreamTranslator(
            model=upstream_model,
            created=int(time.time()),
            completion_id=f"chatcmpl-{new_id()}",
            include_usage=include_usage,
            answer_tool=answer_tool,
        )
        legacy = LegacyChunks() if uses_legacy_functions(body) else None

        def feed(name: str | None, data: dict[str, Any]) -> list[dict[str, Any]]:
            chunks = translator.feed(name or str(data.get("type", "")), data)
            return legacy(chunks) if legacy is not None else chunks

        return TranslatedChatStream(self._http, response, translator, feed)

    def _native_headers(self, base: dict[str, str], client: Mapping[str, str]) -> dict[str, str]:
        """The client's protocol headers win: its API version and beta features reach Anthropic
        as it asked for them."""
        return {**base, **{k: v for k, v in client.items() if k in PASSED_HEADERS and v}}

    native_kinds = frozenset({"messages"})

    async def native(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> UpstreamReply:
        """An Anthropic Messages request, passed as it is (only the model name changes)."""
        _only_messages(kind)
        payload = passed_json(_as_sent(body, upstream_model, stream=False))
        sent = self._native_headers(self._headers, headers)
        async with self._http.post(self._url, payload, sent) as response:
            data = await self._http.read(response)
        usage = usage_of(self._http.decode_json(data).get("usage"))
        return UpstreamReply(body=data, usage=usage)

    async def open_native_stream(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> NativeMessagesStream:
        _only_messages(kind)
        payload = passed_json(_as_sent(body, upstream_model, stream=True))
        sent = self._native_headers(self._stream_headers, headers)
        response = await self._http.open(self._url, payload, sent)
        return NativeMessagesStream(self._http, response)

    async def count_tokens(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> int:
        _only_messages(kind)
        payload = passed_json(with_members(body, model=upstream_model))
        sent = self._native_headers(self._headers, headers)
        async with self._http.post(self._url + "/count_tokens", payload, sent) as response:
            data = await self._http.read(response)
        counted = self._http.decode_json(data).get("input_tokens")
        return counted if isinstance(counted, int) else 0

    async def embeddings(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
        raise InvalidRequest(
            "Anthropic offers no embeddings; choose an embeddings model of another provider.",
            param="model",
        )

    async def list_models(self) -> list[str]:
        models: list[str] = []
        url = self._url.removesuffix("/messages") + "/models?limit=1000"
        after = ""
        for _ in range(MAX_PAGES):
            page = await self._http.get_json(url + after, self._headers)
            models += model_ids(page.get("data"), "id")
            last = page.get("last_id")
            if not page.get("has_more") or not isinstance(last, str):
                break
            after = f"&after_id={quote(last, safe='')}"
        return models

    async def close(self) -> None:
        await self._http.close()


def _as_sent(body: dict[str, Any], upstream_model: str, *, stream: bool) -> dict[str, Any]:
    """A Messages body as it goes up natively: the upstream model name, and `stream` only where
    the body does not already say it (a body passed as it is keeps its own bytes)."""
    out = with_members(body, model=upstream_model)
    if bool(out.get("stream")) != stream:
        out["stream"] = stream
    return out


def _only_messages(kind: str) -> None:
    if kind != "messages":
        raise LookupError(f"Anthropic's API takes no {kind} body as it is")
