"""The `openai` and `openai-compatible` adapters (OpenAI, vLLM, Ollama, llama.cpp server...).

Bodies pass through as the client's bytes (`passed_json`): the model becomes the upstream name and
streams always ask for usage. What the client did not ask for (the usage-only chunk) is dropped
on the way back. Legacy text completions pass natively too (`openai_completions`), and OpenAI's
own API takes Responses bodies as they are (`native_responses`: its `/responses`, see
`openai_responses`); other servers get those translated to chat by the front door.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from domains.providers.output_limit import least_output
from domains.providers.passed_body import with_members
from domains.providers.ports import UpstreamReply
from infrastructure.adapters.providers import openai_completions as completions
from infrastructure.adapters.providers import openai_wire as wire
from infrastructure.adapters.providers.openai_errors import stream_error
from infrastructure.adapters.providers.openai_responses import (
    NativeResponsesStream,
    usage_of_response,
)
from infrastructure.adapters.providers.passed_json import passed_json
from infrastructure.adapters.providers.upstream_http import UpstreamHttp, model_ids
from infrastructure.adapters.providers.upstream_stream import UpstreamStream

_JSON = "application/json"
MIN_OUTPUT_TOKENS = least_output("responses")  # OpenAI refuses a smaller max_output_tokens


class OpenAIAdapter:
    def __init__(
        self,
        http: UpstreamHttp,
        *,
        base_url: str,
        api_key: str | None,
        native_base64_embeddings: bool = True,
        stream_usage: bool = True,
        native_responses: bool = False,
    ) -> None:
        kinds = {"completions", "responses"} if native_responses else {"completions"}
        self.native_kinds = frozenset(kinds)
        self._stream_usage = stream_usage
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
        out = with_members(body, model=upstream_model)
        if wants_base64 and not self._native_base64:
            out["encoding_format"] = "float"
        async with self._http.post(
            f"{self._base}/embeddings", passed_json(out), self._headers
        ) as response:
            data = await self._http.read(response)
        if wants_base64 and not self._native_base64:
            data = wire.embeddings_as_base64(data)
        return UpstreamReply(body=data, usage=wire.usage_of(data))

    async def open_chat_stream(
        self, body: dict[str, Any], upstream_model: str, *, include_usage: bool
    ) -> OpenAIChatStream:
        payload = wire.chat_body(body, upstream_model, stream=True, stream_usage=self._stream_usage)
        response = await self._http.open(
            f"{self._base}/chat/completions", payload, self._stream_headers
        )
        return OpenAIChatStream(self._http, response, include_usage=include_usage)

    async def native(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> UpstreamReply:
        """A body of a dialect this server speaks besides chat, passed as it is: legacy text
        completions (`openai_completions`), and Responses on OpenAI's own API (only the model
        name changes)."""
        self._only_native(kind)
        if kind == "completions":
            payload = passed_json(
                wire.streamed_body(body, upstream_model, stream=False, usage=False)
            )
            async with self._http.post(
                self._base + completions.PATH, payload, self._headers
            ) as response:
                data = await self._http.read(response)
            return UpstreamReply(body=data, usage=wire.usage_of(data))
        payload = passed_json(_responses_body(body, upstream_model, stream=False))
        async with self._http.post(f"{self._base}/responses", payload, self._headers) as response:
            data = await self._http.read(response)
        return UpstreamReply(body=data, usage=usage_of_response(data))

    async def open_native_stream(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> OpenAIChatStream | NativeResponsesStream:
        self._only_native(kind)
        if kind == "completions":
            asked = completions.asks_for_usage(body)
            payload = wire.chat_body(
                body, upstream_model, stream=True, stream_usage=self._stream_usage
            )
            response = await self._http.open(
                self._base + completions.PATH, payload, self._stream_headers
            )
            return OpenAIChatStream(
                self._http, response, include_usage=asked, facts=completions.completion_chunk_facts
            )
        payload = passed_json(_responses_body(body, upstream_model, stream=True))
        response = await self._http.open(f"{self._base}/responses", payload, self._stream_headers)
        return NativeResponsesStream(self._http, response)

    async def count_tokens(
        self, kind: str, body: dict[str, Any], upstream_model: str, headers: Mapping[str, str]
    ) -> int:
        raise LookupError(f"the gateway does not ask OpenAI to count {kind} bodies")

    def _only_native(self, kind: str) -> None:
        if kind not in self.native_kinds:
            raise LookupError(f"this server takes no {kind} body as it is")

    async def list_models(self) -> list[str]:
        listing = await self._http.get_json(f"{self._base}/models", self._headers)
        return model_ids(listing.get("data"), "id")

    async def close(self) -> None:
        await self._http.close()


def _responses_body(body: dict[str, Any], upstream_model: str, *, stream: bool) -> dict[str, Any]:
    """The Responses body to send: the upstream model, `stream` where the body does not already
    say it, and no `max_output_tokens` under OpenAI's least (the client may ask for fewer: the
    call reserves that least, and is billed for what the upstream produced). A copy of the same
    type (a `PassedBody` keeps its bytes)."""
    out = with_members(body, model=upstream_model)
    if bool(out.get("stream")) != stream:
        out["stream"] = stream
    most = out.get("max_output_tokens")
    if isinstance(most, int) and not isinstance(most, bool) and most < MIN_OUTPUT_TOKENS:
        out["max_output_tokens"] = MIN_OUTPUT_TOKENS
    return out


class OpenAIChatStream(UpstreamStream):
    """Forwards SSE events untouched, watching for usage; drops the usage-only chunk unless the
    client asked for it. An error event ends the stream with the gateway's error for it.
    `facts` reads a chunk (a chat chunk by default; a legacy `text_completion` one for
    `/v1/completions` passed natively)."""

    def __init__(
        self,
        http: UpstreamHttp,
        response: aiohttp.ClientResponse,
        *,
        include_usage: bool,
        facts: Callable[[bytes], wire.ChunkFacts | None] = wire.chunk_facts,
    ) -> None:
        super().__init__(http, response)
        self._include_usage = include_usage
        self._facts = facts

    def _on_events(self, events: list[bytes]) -> bytes:
        tally, kept = self.tally, []
        for event in events:
            if self._keep(event):
                kept.append(event)
            if tally.output_chars > tally.most_chars:
                break  # past what the call reserved: the gateway cuts the stream here
        return b"\n\n".join(kept) + b"\n\n" if kept else b""

    def _keep(self, event: bytes) -> bool:
        data = wire.event_data(event)
        if data is None:
            return bool(event.strip())
        if data == b"[DONE]":
            self.tally.finished = True
            return True
        if b'"error"' in data and (failure := stream_error(data)) is not None:
            raise self._http.failed(failure)  # the one table's answer, not the upstream's words
        facts = self._facts(data)
        if facts is None:
            return True
        self.tally.output_chars += facts.output_chars
        if facts.usage is not None:
            self.tally.usage = facts.usage
            if facts.usage_only and not self._include_usage:
                return False
        return True
