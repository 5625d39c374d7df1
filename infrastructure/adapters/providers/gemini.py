"""The `gemini` adapter: OpenAI chat and embeddings in, the Gemini API (v1beta) on the wire; and
Gemini's own `generateContent` bodies passed as they are (`native`, the "gemini" dialect)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import msgspec

from domains.providers.ports import UpstreamReply, Usage
from domains.shared.ids import new_id
from infrastructure.adapters.providers import gemini_wire as wire
from infrastructure.adapters.providers.error_reading import ErrorReading
from infrastructure.adapters.providers.gemini_answer import openai_usage
from infrastructure.adapters.providers.gemini_native import NativeGeminiStream, counted_body
from infrastructure.adapters.providers.image_fetch import ImageFetcher
from infrastructure.adapters.providers.legacy_functions import (
    LegacyChunks,
    legacy_reply,
    uses_legacy_functions,
)
from infrastructure.adapters.providers.passed_json import passed_json
from infrastructure.adapters.providers.translated_stream import TranslatedChatStream
from infrastructure.adapters.providers.upstream_http import UpstreamHttp, model_ids

MAX_PAGES = 20
EMBED_BATCH = 100  # batchEmbedContents takes at most 100 requests a call
CHARS_PER_TOKEN = 4
_encoder = msgspec.json.Encoder()


def read_gemini_error(status: int, body: bytes, headers: Mapping[str, str]) -> ErrorReading:
    condition, message, retry_after = wire.error_facts(status, body, headers.get("retry-after"))
    return ErrorReading(condition, message, None, retry_after)


class GeminiAdapter:
    def __init__(
        self,
        http: UpstreamHttp,
        *,
        base_url: str,
        api_key: str | None,
        images: ImageFetcher,
    ) -> None:
        self._http = http
        self._images = images
        self._base = base_url.rstrip("/") + "/v1beta/models/"
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers["x-goog-api-key"] = api_key
        self._stream_headers = dict(self._headers, Accept="text/event-stream")

    def _url(self, upstream_model: str, method: str) -> str:
        return f"{self._base}{quote(upstream_model, safe='')}:{method}"

    async def _request(self, body: dict[str, Any], upstream_model: str) -> bytes:
        fetched = await self._images.fetch_all(wire.http_image_urls(body))
        return _encoder.encode(
            wire.chat_request(body, fetched_images=fetched, model=upstream_model)
        )

    async def chat(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
        payload = await self._request(body, upstream_model)
        url = self._url(upstream_model, "generateContent")
        async with self._http.post(url, payload, self._headers) as response:
            data = await self._http.read(response)
        out, usage = wire.chat_response(
            self._http.decode_json(data),
            model=upstream_model,
            created=int(time.time()),
            completion_id=f"chatcmpl-{new_id()}",
        )
        if uses_legacy_functions(body):
            out = legacy_reply(out)
        return UpstreamReply(body=_encoder.encode(out), usage=usage)

    async def open_chat_stream(
        self, body: dict[str, Any], upstream_model: str, *, include_usage: bool
    ) -> TranslatedChatStream:
        payload = await self._request(body, upstream_model)
        url = self._url(upstream_model, "streamGenerateContent") + "?alt=sse"
        response = await self._http.open(url, payload, self._stream_headers)
        translator = wire.StreamTranslator(
            model=upstream_model,
            created=int(time.time()),
            completion_id=f"chatcmpl-{new_id()}",
            include_usage=include_usage,
        )
        legacy = LegacyChunks() if uses_legacy_functions(body) else None

        def feed(_name: str | None, data: dict[str, Any]) -> list[dict[str, Any]]:
            chunks = translator.feed(data)
            return legacy(chunks) if legacy is not None else chunks

        return TranslatedChatStream(self._http, response, translator, feed, translator.finish)

    async def embeddings(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
        request = wire.embeddings_request(body, upstream_model)
        texts = [
            part.get("text", "")
            for item in request.get("requests", ())
            for part in item.get("content", {}).get("parts", ())
        ]
        estimate = max(1, -(-sum(len(text) for text in texts) // CHARS_PER_TOKEN))
        url = self._url(upstream_model, "batchEmbedContents")
        requests = request.get("requests", [])
        batches = [requests[i : i + EMBED_BATCH] for i in range(0, len(requests), EMBED_BATCH)]
        answers = await asyncio.gather(*(self._embed(url, batch) for batch in batches))
        merged = {"embeddings": [item for answer in answers for item in answer]}
        out = wire.embeddings_response(
            merged,
            model=upstream_model,
            base64=body.get("encoding_format") == "base64",
            input_tokens=estimate,
        )
        return UpstreamReply(
            body=_encoder.encode(out), usage=Usage(input_tokens=estimate, output_tokens=0)
        )

    async def _embed(self, url: str, batch: list[Any]) -> list[Any]:
        payload = _encoder.encode({"requests": batch})
        async with self._http.post(url, payload, self._headers) as response:
            data = await self._http.read(response)
        embeddings = self._http.decode_json(data).get("embeddings")
        return embeddings if isinstance(embeddings, list) else []

    native_kinds = frozenset({"gemini"})

    async def native(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> UpstreamReply:
        """A `generateContent` body, sent as the client sent it (the model is in the URL); the
        answer comes back as Google sent it."""
        _only_gemini(kind)
        url = self._url(upstream_model, "generateContent")
        async with self._http.post(url, passed_json(body), self._headers) as response:
            data = await self._http.read(response)
        metadata = self._http.decode_json(data).get("usageMetadata")
        usage = openai_usage(metadata)[1] if isinstance(metadata, Mapping) else None
        return UpstreamReply(body=data, usage=usage)

    async def open_native_stream(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> NativeGeminiStream:
        _only_gemini(kind)
        url = self._url(upstream_model, "streamGenerateContent") + "?alt=sse"
        payload = passed_json(body)
        response = await self._http.open(url, payload, self._stream_headers)
        return NativeGeminiStream(self._http, response)

    async def count_tokens(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> int:
        """Google's own count (`totalTokens`) of a `countTokens` body."""
        _only_gemini(kind)
        changed = counted_body(body, upstream_model)
        payload = _encoder.encode(changed) if changed is not None else passed_json(body)
        url = self._url(upstream_model, "countTokens")
        async with self._http.post(url, payload, self._headers) as response:
            data = await self._http.read(response)
        total = self._http.decode_json(data).get("totalTokens")
        if isinstance(total, str) and total.isascii() and total.isdigit() and len(total) < 19:
            total = int(total)  # proto-JSON may write an int64 as a string
        return total if isinstance(total, int) and not isinstance(total, bool) else 0

    async def list_models(self) -> list[str]:
        models: list[str] = []
        url = self._base.removesuffix("/") + "?pageSize=1000"
        token = ""
        for _ in range(MAX_PAGES):
            page = await self._http.get_json(url + token, self._headers)
            models += model_ids(page.get("models"), "name", strip="models/")
            next_token = page.get("nextPageToken")
            if not isinstance(next_token, str) or not next_token:
                break
            token = f"&pageToken={quote(next_token, safe='')}"
        return models

    async def close(self) -> None:
        await self._http.close()
        await self._images.close()


def _only_gemini(kind: str) -> None:
    if kind != "gemini":
        raise LookupError(f"Gemini's API takes no {kind} body as it is")
