"""The `openai` and `openai-compatible` adapters (OpenAI, vLLM, Ollama, llama.cpp server...).

Bodies pass through nearly untouched: the model becomes the upstream name and streams always ask
for usage. What the client did not ask for (the usage-only chunk) is dropped on the way back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from domains.providers.ports import StreamTally, UpstreamReply
from infrastructure.adapters.providers import openai_wire as wire
from infrastructure.adapters.providers.sse import SseSplitter
from infrastructure.adapters.providers.upstream_http import UpstreamHttp, model_ids

_JSON = "application/json"


class OpenAIAdapter:
    def __init__(
        self,
        http: UpstreamHttp,
        *,
        base_url: str,
        api_key: str | None,
        native_base64_embeddings: bool = True,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Content-Type": _JSON, "Accept": _JSON}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._stream_headers = dict(self._headers, Accept="text/event-stream")
        self._native_base64 = native_base64_embeddings

    async def chat(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
        payload = wire.chat_body(body, upstream_model, stream=False)
        async with self._http.post(
            f"{self._base}/chat/completions", payload, self._headers
        ) as response:
            data = await self._http.read(response)
        return UpstreamReply(body=data, usage=wire.usage_of(data))

    async def embeddings(self, body: dict[str, Any], upstream_model: str) -> UpstreamReply:
        wants_base64 = body.get("encoding_format") == "base64"
        out = dict(body, model=upstream_model)
        if wants_base64 and not self._native_base64:
            out["encoding_format"] = "float"
        async with self._http.post(
            f"{self._base}/embeddings", wire.encode(out), self._headers
        ) as response:
            data = await self._http.read(response)
        if wants_base64 and not self._native_base64:
            data = wire.embeddings_as_base64(data)
        return UpstreamReply(body=data, usage=wire.usage_of(data))

    async def open_chat_stream(
        self, body: dict[str, Any], upstream_model: str, *, include_usage: bool
    ) -> OpenAIChatStream:
        payload = wire.chat_body(body, upstream_model, stream=True)
        response = await self._http.open(
            f"{self._base}/chat/completions", payload, self._stream_headers
        )
        return OpenAIChatStream(self._http, response, include_usage=include_usage)

    async def list_models(self) -> list[str]:
        listing = await self._http.get_json(f"{self._base}/models", self._headers)
        return model_ids(listing.get("data"), "id")

    async def close(self) -> None:
        await self._http.close()


class OpenAIChatStream:
    """Forwards SSE events as they arrive (one write per upstream read), watching for usage."""

    def __init__(
        self, http: UpstreamHttp, response: aiohttp.ClientResponse, *, include_usage: bool
    ) -> None:
        self._http = http
        self._response = response
        self._include_usage = include_usage
        self.tally = StreamTally()
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        splitter = SseSplitter()
        try:
            async for data in self._response.content.iter_any():
                out = [event for event in splitter.feed(data) if self._keep(event)]
                if out:
                    yield b"\n\n".join(out) + b"\n\n"
        except TimeoutError as error:
            raise self._http.timed_out() from error
        except aiohttp.ClientError as error:
            raise self._http.unreachable(error) from error
        rest = splitter.rest()
        if rest is not None and self._keep(rest):
            yield rest + b"\n\n"

    def _keep(self, event: bytes) -> bool:
        data = wire.event_data(event)
        if data is None:
            return bool(event.strip())
        if data == b"[DONE]":
            self.tally.finished = True
            return True
        facts = wire.chunk_facts(data)
        if facts is None:
            return True
        self.tally.output_chars += facts.output_chars
        if facts.usage is not None:
            self.tally.usage = facts.usage
            if facts.usage_only and not self._include_usage:
                return False
        return True

    async def aclose(self) -> None:
        # Never suspends, so it completes even inside a cancelled scope (client gone).
        if self._closed:
            return
        self._closed = True
        if self.tally.finished:
            self._response.release()
        else:
            self._response.close()  # the upstream sees the connection close: generation stops
