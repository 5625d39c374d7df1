"""The Google Gemini API v1beta wire format, as pure functions: OpenAI chat and embeddings
requests → `generateContent` / `streamGenerateContent?alt=sse` / `batchEmbedContents` bodies, and
their answers and errors → OpenAI shapes. No I/O: the adapter downloads http(s) images first
(`http_image_urls`), puts the model in the URL and frames the SSE (`data: [DONE]` included).

The pieces live in `gemini_request` (top level), `gemini_contents` / `gemini_images` (messages)
and `gemini_schema` (JSON schemas) for requests; `gemini_answer` (finish reasons, usage,
candidates), `gemini_response` (whole answers), `gemini_stream` (SSE events) and `gemini_errors`
for answers; this module is the one to import.
Translators raise only `InvalidRequest` (untranslatable client input → 400); `StreamTranslator`
raises `UpstreamError` for an error event; `error_facts` never raises.
"""

from __future__ import annotations

from infrastructure.adapters.providers.gemini_answer import call_id, finish_reason
from infrastructure.adapters.providers.gemini_contents import THOUGHT_SIGNATURE_SENTINEL
from infrastructure.adapters.providers.gemini_errors import error_facts
from infrastructure.adapters.providers.gemini_images import http_image_urls
from infrastructure.adapters.providers.gemini_request import chat_request, embeddings_request
from infrastructure.adapters.providers.gemini_response import chat_response, embeddings_response
from infrastructure.adapters.providers.gemini_schema import gemini_schema
from infrastructure.adapters.providers.gemini_stream import StreamTranslator

__all__ = [
    "THOUGHT_SIGNATURE_SENTINEL",
    "StreamTranslator",
    "call_id",
    "chat_request",
    "chat_response",
    "embeddings_request",
    "embeddings_response",
    "error_facts",
    "finish_reason",
    "gemini_schema",
    "http_image_urls",
]
