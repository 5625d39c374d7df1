"""A fake Google Gemini upstream that speaks the Generative Language API (v1beta) wire format.

Used by the gateway's tests (in-process, via :class:`FakeGemini`) and benchmarks (standalone,
via ``python -m tests.fakes.gemini_upstream --host 127.0.0.1 --port 9200``). Clients append the
API version themselves: ``{base_url}/v1beta/models/gemini-2.5-flash:generateContent`` (``/v1/``
is served too; the google-genai SDK defaults to it).

Behaviour is fully deterministic apart from ``responseId``:

* Auth: ``x-goog-api-key`` header or ``?key=``. No key → 403 ``PERMISSION_DENIED``; a bearer
  token instead of a key → 401 ``UNAUTHENTICATED``; a key other than ``expected_key`` → 400
  ``INVALID_ARGUMENT`` with an ``API_KEY_INVALID`` ``ErrorInfo`` (what Google really sends).
* ``POST .../models/{model}:generateContent`` and ``:streamGenerateContent`` (``?alt=sse`` →
  ``text/event-stream`` with ``data: <GenerateContentResponse>\\r\\n\\r\\n`` events; otherwise a
  progressively written JSON array). The request is parsed like Google's proto-JSON front end
  (camelCase or snake_case names, unknown names rejected) and validated like the real API
  (roles, oneof parts, function-call/response turn order, generation config ranges, ...).
  The reply is ``"Echo: " + <last user turn text>`` or one ``functionCall`` when
  ``functionDeclarations`` are given, with arguments its parameters schema accepts; with
  ``responseMimeType: application/json`` the text is JSON that ``responseSchema`` accepts (both
  built from the last user text by :mod:`tests.fakes.schema_sample`); usage counts
  whitespace-separated words.
* ``POST .../models/{model}:batchEmbedContents`` / ``:embedContent`` return hash-derived float32
  vectors (8 dimensions unless ``outputDimensionality``); ``:countTokens`` counts words.
* ``GET .../models`` (paged) and ``GET .../models/{model}``.
* Special model names: ``fake-exhausted`` (429), ``fake-safety`` (SAFETY block),
  ``fake-error-500``, ``fake-unavailable`` (503), ``fake-error-400`` (INVALID_ARGUMENT),
  ``fake-error-404`` (NOT_FOUND, as for a model Google does not serve), ``fake-slow``,
  ``fake-stall-stream`` and ``fake-cached`` (``cachedContentTokenCount``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
from aiohttp import web

from tests.fakes.schema_sample import sample
from tests.fakes.server import (
    DEFAULT_SLOW_SECONDS,
    EXPECTED_KEY,
    REQUEST_LOG,  # noqa: F401  (re-exported: create_app keeps its log there)
    SLOW_SECONDS,
    FakeServer,
    Handler,
    RequestLog,
    chat_pieces,
    count_words,
    embedding_vector,
    log_request,
    new_app,
    read_json,
    request_fields,
    run_main,
)

__all__ = [
    "API_VERSIONS",
    "MODEL_IDS",
    "FakeGemini",
    "RecordedRequest",
    "RequestLog",
    "chat_pieces",
    "count_words",
    "create_app",
    "main",
    "part_text",
]

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------

API_VERSIONS: Final[tuple[str, ...]] = ("v1", "v1beta")
DEFAULT_EMBEDDING_DIMENSIONS: Final = 8
MAX_EMBEDDING_DIMENSIONS: Final = 3072
MAX_EMBED_BATCH: Final = 100
MAX_STOP_SEQUENCES: Final = 5
MAX_CANDIDATES: Final = 8
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000
CACHED_CONTENT_TOKENS: Final = 5
RETRY_DELAY: Final = "7s"

MODEL_EXHAUSTED: Final = "fake-exhausted"
MODEL_SAFETY: Final = "fake-safety"
MODEL_ERROR_500: Final = "fake-error-500"
MODEL_ERROR_400: Final = "fake-error-400"
MODEL_ERROR_404: Final = "fake-error-404"
MODEL_UNAVAILABLE: Final = "fake-unavailable"
MODEL_SLOW: Final = "fake-slow"
MODEL_STALL_STREAM: Final = "fake-stall-stream"
MODEL_CACHED: Final = "fake-cached"

_GENERATE_METHODS: Final = [
    "generateContent",
    "countTokens",
    "createCachedContent",
    "batchGenerateContent",
]
_MODELS: Final[tuple[dict[str, Any], ...]] = (
    {
        "name": "models/gemini-2.5-flash",
        "version": "001",
        "displayName": "Gemini 2.5 Flash",
        "description": "Stable version of Gemini 2.5 Flash, our mid-size multimodal model.",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": _GENERATE_METHODS,
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    },
    {
        "name": "models/gemini-2.5-pro",
        "version": "2.5",
        "displayName": "Gemini 2.5 Pro",
        "description": "Stable release of Gemini 2.5 Pro.",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": _GENERATE_METHODS,
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": True,
    },
    {
        "name": "models/text-embedding-004",
        "version": "004",
        "displayName": "Text Embedding 004",
        "description": "Obtain a distributed representation of a text.",
        "inputTokenLimit": 2048,
        "outputTokenLimit": 1,
        "supportedGenerationMethods": ["embedContent"],
    },
)
MODEL_IDS: Final[tuple[str, ...]] = tuple(m["name"].removeprefix("models/") for m in _MODELS)
_MODELS_BY_ID: Final = {m["name"].removeprefix("models/"): m for m in _MODELS}

_STATUS_NAMES: Final[dict[int, str]] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_JSON_CT: Final = "application/json; charset=UTF-8"
_SSE_CT: Final = "text/event-stream"
_HTML_CT: Final = "text/html; charset=UTF-8"
_BASE_HEADERS: Final[dict[str, str]] = {
    "Vary": "Origin, X-Origin, Referer",
    "Server": "scaffolding on HTTPServer2",
    "X-Content-Type-Options": "nosniff",
}
_SSE_SEP: Final = b"\r\n\r\n"  # Google terminates every SSE event with CRLF CRLF
_ARRAY_SEP: Final = b"\n,\r\n"  # ... and separates JSON-array stream elements like this
_TYPE_PREFIX: Final = "type.googleapis.com/google.ai.generativelanguage.v1beta."
_FUNCTION_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]{0,63}")

_encoder: Final = msgspec.json.Encoder()
_encode: Final = _encoder.encode


# ---------------------------------------------------------------------------------------------
# Request recording
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request received by the fake (any route, including rejected ones)."""

    method: str
    path: str  # without the query string
    query: dict[str, str]  # e.g. {"alt": "sse"} or {"key": "..."}
    headers: dict[str, str]  # lower-case header names
    json: Any  # parsed JSON body, or None (no body / not JSON)

    @classmethod
    def of(cls, request: web.Request, body: Any) -> RecordedRequest:
        return cls(query=dict(request.query), **request_fields(request, body))


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class _HTTPFailure(Exception):
    """Carries a Google error (or a ready-made response) out of nested helpers."""

    def __init__(
        self,
        code: int,
        message: str = "",
        details: list[dict[str, Any]] | None = None,
        *,
        response: web.Response | None = None,
    ) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.details = details
        self.response = response

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": _STATUS_NAMES.get(self.code, "UNKNOWN"),
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


def _pretty(payload: object) -> bytes:
    """Google pretty-prints non-streamed JSON bodies with a two-space indent."""
    return msgspec.json.format(_encode(payload), indent=2)


def _json(payload: object, status: int = 200) -> web.Response:
    headers = dict(_BASE_HEADERS)
    headers["Content-Type"] = _JSON_CT
    return web.Response(status=status, body=_pretty(payload), headers=headers)


def _error_response(failure: _HTTPFailure, *, as_array: bool = False) -> web.Response:
    if failure.response is not None:
        return failure.response
    body: object = failure.body()
    return _json([body] if as_array else body, failure.code)


def _invalid(message: str, details: list[dict[str, Any]] | None = None) -> _HTTPFailure:
    return _HTTPFailure(400, message, details)


def _bullets(request_type: str, violations: list[tuple[str, str]]) -> _HTTPFailure:
    """Google's field-validation format: ``* Request.field: problem\\n`` per violation."""
    return _invalid("".join(f"* {request_type}.{f}: {m}\n" for f, m in violations))


def _not_found_page(path: str) -> web.Response:
    """Google's front end answers unknown URLs with an HTML page, not JSON."""
    html = (
        "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n"
        "  <title>Error 404 (Not Found)!!1</title>\n"
        "  <p><b>404.</b> <ins>That’s an error.</ins>\n"
        f"  <p>The requested URL <code>{path}</code> was not found on this server.  "
        "<ins>That’s all we know.</ins>\n"
    )
    headers = dict(_BASE_HEADERS)
    headers["Content-Type"] = _HTML_CT
    return web.Response(status=404, body=html.encode(), headers=headers)


# ---------------------------------------------------------------------------------------------
# Proto-JSON parsing (the subset of google.ai.generativelanguage.v1beta the fake understands)
# ---------------------------------------------------------------------------------------------
#
# Field types: scalar names (string, bool, int32, int64, float, bytes), "struct" (a JSON object
# with free-form keys), "value" (any JSON, not inspected), "enum:<Name>", a message name, or one
# of those with a "[]" suffix (repeated) or wrapped in "map<...>" (string-keyed map).

_MESSAGES: Final[dict[str, dict[str, str]]] = {
    "GenerateContentRequest": {
        "model": "string",
        "contents": "Content[]",
        "tools": "Tool[]",
        "toolConfig": "ToolConfig",
        "safetySettings": "SafetySetting[]",
        "systemInstruction": "Content",
        "generationConfig": "GenerationConfig",
        "cachedContent": "string",
        "labels": "map<string>",
        "serviceTier": "string",
        "store": "bool",
    },
    "CountTokensRequest": {
        "model": "string",
        "contents": "Content[]",
        "generateContentRequest": "GenerateContentRequest",
    },
    "Content": {"parts": "Part[]", "role": "string"},
    "Part": {
        "text": "string",
        "inlineData": "Blob",
        "fileData": "FileData",
        "functionCall": "FunctionCall",
        "functionResponse": "FunctionResponse",
        "executableCode": "value",
        "codeExecutionResult": "value",
        "toolCall": "value",
        "toolResponse": "value",
        "thought": "bool",
        "thoughtSignature": "bytes",
        "videoMetadata": "value",
        "partMetadata": "struct",
        "mediaResolution": "value",
    },
    "Blob": {"mimeType": "string", "data": "bytes"},
    "FileData": {"mimeType": "string", "fileUri": "string"},
    "FunctionCall": {
        "id": "string",
        "name": "string",
        "args": "struct",
        "partialArgs": "value",
        "willContinue": "bool",
    },
    "FunctionResponse": {
        "id": "string",
        "name": "string",
        "response": "struct",
        "parts": "value",
        "willContinue": "bool",
        "scheduling": "string",
    },
    "Tool": {
        "functionDeclarations": "FunctionDeclaration[]",
        "googleSearchRetrieval": "value",
        "codeExecution": "value",
        "googleSearch": "value",
        "urlContext": "value",
        "computerUse": "value",
        "fileSearch": "value",
        "googleMaps": "value",
        "mcpServers": "value",
    },
    "FunctionDeclaration": {
        "name": "string",
        "description": "string",
        "parameters": "Schema",
        "parametersJsonSchema": "value",
        "response": "Schema",
        "responseJsonSchema": "value",
        "behavior": "string",
    },
    # An OpenAPI 3.0 subset: no additionalProperties, $ref, $defs, oneOf, ...
    "Schema": {
        "type": "enum:Type",
        "format": "string",
        "title": "string",
        "description": "string",
        "nullable": "bool",
        "enum": "string[]",
        "maxItems": "int64",
        "minItems": "int64",
        "properties": "map<Schema>",
        "required": "string[]",
        "minProperties": "int64",
        "maxProperties": "int64",
        "minLength": "int64",
        "maxLength": "int64",
        "pattern": "string",
        "example": "value",
        "anyOf": "Schema[]",
        "propertyOrdering": "string[]",
        "default": "value",
        "items": "Schema",
        "minimum": "float",
        "maximum": "float",
    },
    "ToolConfig": {
        "functionCallingConfig": "FunctionCallingConfig",
        "retrievalConfig": "value",
    },
    "FunctionCallingConfig": {
        "mode": "enum:FunctionCallingConfig.Mode",
        "allowedFunctionNames": "string[]",
    },
    "SafetySetting": {
        "category": "enum:HarmCategory",
        "threshold": "enum:SafetySetting.HarmBlockThreshold",
    },
    "GenerationConfig": {
        "candidateCount": "int32",
        "stopSequences": "string[]",
        "maxOutputTokens": "int32",
        "temperature": "float",
        "topP": "float",
        "topK": "int32",
        "seed": "int32",
        "presencePenalty": "float",
        "frequencyPenalty": "float",
        "responseLogprobs": "bool",
        "logprobs": "int32",
        "responseMimeType": "string",
        "responseSchema": "Schema",
        "responseJsonSchema": "value",
        "responseModalities": "string[]",
        "enableEnhancedCivicAnswers": "bool",
        "speechConfig": "value",
        "thinkingConfig": "value",
        "imageConfig": "value",
        "mediaResolution": "value",
    },
    "BatchEmbedContentsRequest": {"requests": "EmbedContentRequest[]"},
    "EmbedContentRequest": {
        "model": "string",
        "content": "Content",
        "taskType": "enum:TaskType",
        "title": "string",
        "outputDimensionality": "int32",
    },
}

_ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "Type": (
        "TYPE_UNSPECIFIED",
        "STRING",
        "NUMBER",
        "INTEGER",
        "BOOLEAN",
        "ARRAY",
        "OBJECT",
        "NULL",
    ),
    "FunctionCallingConfig.Mode": ("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"),
    "HarmCategory": (
        "HARM_CATEGORY_UNSPECIFIED",
        "HARM_CATEGORY_DEROGATORY",
        "HARM_CATEGORY_TOXICITY",
        "HARM_CATEGORY_VIOLENCE",
        "HARM_CATEGORY_SEXUAL",
        "HARM_CATEGORY_MEDICAL",
        "HARM_CATEGORY_DANGEROUS",
        "HARM_CATEGORY_HARASSMENT",
        "HARM_CATEGORY_HATE_SPEECH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_DANGEROUS_CONTENT",
        "HARM_CATEGORY_CIVIC_INTEGRITY",
        "HARM_CATEGORY_IMAGE_HATE",
        "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
        "HARM_CATEGORY_IMAGE_HARASSMENT",
        "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
        "HARM_CATEGORY_JAILBREAK",
    ),
    "SafetySetting.HarmBlockThreshold": (
        "HARM_BLOCK_THRESHOLD_UNSPECIFIED",
        "BLOCK_LOW_AND_ABOVE",
        "BLOCK_MEDIUM_AND_ABOVE",
        "BLOCK_ONLY_HIGH",
        "BLOCK_NONE",
        "OFF",
    ),
    "TaskType": (
        "TASK_TYPE_UNSPECIFIED",
        "RETRIEVAL_QUERY",
        "RETRIEVAL_DOCUMENT",
        "SEMANTIC_SIMILARITY",
        "CLASSIFICATION",
        "CLUSTERING",
        "QUESTION_ANSWERING",
        "FACT_VERIFICATION",
        "CODE_RETRIEVAL_QUERY",
    ),
}
# Schema.type is matched case-insensitively (Google's own REST samples send "object").
_CASE_INSENSITIVE_ENUMS: Final = frozenset({"Type"})

_SCALAR_TYPE_NAMES: Final[dict[str, str]] = {
    "string": "TYPE_STRING",
    "bool": "TYPE_BOOL",
    "int32": "TYPE_INT32",
    "int64": "TYPE_INT64",
    "float": "TYPE_FLOAT",
    "bytes": "TYPE_BYTES",
}


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", name).lower()


# Proto-JSON parsers accept the lowerCamelCase JSON name and the original snake_case name.
_ALIASES: Final[dict[str, dict[str, str]]] = {
    message: {alias: name for name in fields for alias in (name, _snake(name))}
    for message, fields in _MESSAGES.items()
}

_MISSING: Final = object()

# Part.data is a oneof: exactly one of these per part.
_DATA_FIELDS: Final = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "toolCall",
    "toolResponse",
)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _repr_value(value: object) -> str:
    text = _encode(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."


class _ProtoJson:
    """Parses a JSON request into camelCase dicts, collecting Google-style violations."""

    def __init__(self) -> None:
        self.violations: list[tuple[str, str]] = []  # (field path, description)

    def parse(self, body: object, message: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _invalid(
                'Invalid JSON payload received. Unknown name "": Root element must be a message.'
            )
        parsed = self.message(body, message, "")
        if self.violations:
            raise _invalid(
                "\n".join(d for _, d in self.violations),
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [
                            {"field": f, "description": d} if f else {"description": d}
                            for f, d in self.violations
                        ],
                    }
                ],
            )
        return parsed or {}

    def _bad_value(self, path: str, type_name: str, value: object) -> object:
        self.violations.append(
            (path, f"Invalid value at '{path}' ({type_name}), {_repr_value(value)}")
        )
        return _MISSING

    def message(self, value: object, message: str, path: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self._bad_value(path, _TYPE_PREFIX + message, value)
            return None
        fields, aliases = _MESSAGES[message], _ALIASES[message]
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = aliases.get(key)
            if name is None:
                where = f" at '{path}'" if path else ""
                self.violations.append(
                    (
                        path,
                        f'Invalid JSON payload received. Unknown name "{key}"{where}: '
                        "Cannot find field.",
                    )
                )
                continue
            if item is None:  # null means "not set" in proto JSON
                continue
            parsed = self.field(item, fields[name], _join(path, _snake(name)))
            if parsed is not _MISSING:
                out[name] = parsed
        return out

    def field(self, value: object, type_: str, path: str) -> object:
        if type_.endswith("[]"):
            # Google's front end also accepts a single value for a repeated field.
            items = value if isinstance(value, list) else [value]
            out = []
            for i, item in enumerate(items):
                parsed = self.single(item, type_[:-2], f"{path}[{i}]")
                if parsed is not _MISSING:
                    out.append(parsed)
            return out
        if type_.startswith("map<"):
            if not isinstance(value, dict):
                return self._bad_value(path, "map", value)
            mapped = {}
            for i, (key, item) in enumerate(value.items()):
                parsed = self.single(item, type_[4:-1], f"{path}[{i}].value")
                if parsed is not _MISSING:
                    mapped[key] = parsed
            return mapped
        return self.single(value, type_, path)

    def single(self, value: object, type_: str, path: str) -> object:
        if type_ == "value":
            return value
        if type_ == "struct":
            if not isinstance(value, dict):
                return self._bad_value(path, "type.googleapis.com/google.protobuf.Struct", value)
            return value
        if type_.startswith("enum:"):
            return self._enum(value, type_[5:], path)
        if type_ in _SCALAR_TYPE_NAMES:
            return self._scalar(value, type_, path)
        parsed = self.message(value, type_, path)
        return _MISSING if parsed is None else parsed

    def _enum(self, value: object, enum: str, path: str) -> object:
        names = _ENUMS[enum]
        if type(value) is int and 0 <= value < len(names):
            return names[value]
        if isinstance(value, str):
            candidate = value.upper() if enum in _CASE_INSENSITIVE_ENUMS else value
            if candidate in names:
                return candidate
        return self._bad_value(path, _TYPE_PREFIX + enum, value)

    def _scalar(self, value: object, type_: str, path: str) -> object:
        type_name = _SCALAR_TYPE_NAMES[type_]
        if type_ == "string":
            return value if isinstance(value, str) else self._bad_value(path, type_name, value)
        if type_ == "bool":
            return value if isinstance(value, bool) else self._bad_value(path, type_name, value)
        if type_ == "bytes":
            if isinstance(value, str) and _b64decode(value) is not None:
                return value
            if isinstance(value, str):
                self.violations.append(
                    (
                        path,
                        f"Invalid value at '{path}' ({type_name}), "
                        f'Base64 decoding failed for "{value[:40]}"',
                    )
                )
                return _MISSING
            return self._bad_value(path, type_name, value)
        if isinstance(value, bool):
            return self._bad_value(path, type_name, value)
        if type_ in ("int32", "int64"):
            # Proto JSON accepts integral numbers and decimal strings (int64 is a string).
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if type(value) is int:
                return value
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
                return int(value)
            return self._bad_value(path, type_name, value)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value)
        return self._bad_value(path, type_name, value)


def _b64decode(value: str) -> bytes | None:
    """Standard or URL-safe base64, padding optional (Google accepts both)."""
    text = value.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# Helpers (pure)
# ---------------------------------------------------------------------------------------------


def _compact(value: object) -> str:
    return _encode(value).decode()


def _media_word(mime_type: str) -> str:
    major = mime_type.partition("/")[0].lower()
    return f"[{major}]" if major in ("image", "audio", "video") else "[file]"


def _modality(mime_type: str) -> str:
    major = mime_type.partition("/")[0].lower()
    return {"image": "IMAGE", "audio": "AUDIO", "video": "VIDEO"}.get(major, "DOCUMENT")


def _function_response_text(response: dict[str, Any]) -> str:
    if len(response) == 1:
        ((key, value),) = response.items()
        if key in ("content", "result") and isinstance(value, str):
            return value
    return _compact(response)


def part_text(part: dict[str, Any]) -> str | None:
    """How one (parsed, camelCase) part reads in the echo: its text, ``[image]`` (``[audio]``,
    ``[video]``, ``[file]``) for inline/file data, the rendered ``functionResponse``; None for
    parts that do not contribute (function calls, code execution, ...)."""
    if "text" in part:
        return part["text"] or None
    for key in ("inlineData", "fileData"):
        if key in part:
            return _media_word(part[key].get("mimeType", ""))
    if "functionResponse" in part:
        return _function_response_text(part["functionResponse"].get("response", {}))
    return None


def _part_tokens(part: dict[str, Any]) -> tuple[int, str]:
    """(prompt tokens, modality) of one part."""
    if "text" in part:
        return count_words(part["text"]), "TEXT"
    for key in ("inlineData", "fileData"):
        if key in part:
            return 1, _modality(part[key].get("mimeType", ""))
    if "functionCall" in part:
        return count_words(_compact(part["functionCall"].get("args", {}))), "TEXT"
    if "functionResponse" in part:
        return count_words(part_text(part) or ""), "TEXT"
    data = next((part[k] for k in _DATA_FIELDS if k in part), "")
    return count_words(data if isinstance(data, str) else _compact(data)), "TEXT"


def _response_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


# ---------------------------------------------------------------------------------------------
# generateContent: validation and planning
# ---------------------------------------------------------------------------------------------

_RESPONSE_MIME_TYPES: Final = frozenset(
    {"text/plain", "application/json", "application/xml", "application/yaml", "text/x.enum"}
)


@dataclass(slots=True)
class _Usage:
    prompt_tokens: int
    prompt_details: list[dict[str, Any]]
    cached_tokens: int = 0

    def render(self, candidates_tokens: int) -> dict[str, Any]:
        # Proto3 JSON omits zero-valued fields, and so does Google.
        usage: dict[str, Any] = {"promptTokenCount": self.prompt_tokens}
        if candidates_tokens:
            usage["candidatesTokenCount"] = candidates_tokens
        usage["totalTokenCount"] = self.prompt_tokens + candidates_tokens
        if self.cached_tokens:
            usage["cachedContentTokenCount"] = self.cached_tokens
        usage["promptTokensDetails"] = self.prompt_details
        if self.cached_tokens:
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": self.cached_tokens}]
        return usage


@dataclass(slots=True)
class _GenPlan:
    """Everything needed to render a GenerateContentResponse, streamed or not."""

    model: str
    usage: _Usage
    pieces: list[str] = field(default_factory=list)  # reply text pieces (text mode)
    function_call: dict[str, Any] | None = None  # {"name", "args"} (call mode)
    finish_reason: str = "STOP"
    candidate_count: int = 1

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def candidates_tokens(self) -> int:
        if self.function_call is not None:
            per_candidate = count_words(_compact(self.function_call["args"]))
        else:
            per_candidate = count_words(self.text)
        return per_candidate * self.candidate_count


def _validate_contents(
    contents: list[tuple[str, dict[str, Any]]], violations: list[tuple[str, str]]
) -> None:
    """``contents``: (field path, parsed Content) pairs."""
    for where, content in contents:
        parts = content.get("parts") or []
        if not parts:
            violations.append((f"{where}.parts", "contents.parts must not be empty."))
        for j, part in enumerate(parts):
            path = f"{where}.parts[{j}]"
            present = [k for k in _DATA_FIELDS if k in part]
            if not present:
                violations.append(
                    (f"{path}.data", "required oneof field 'data' must have one initialized field")
                )
                continue
            if len(present) > 1:
                raise _invalid(
                    "Invalid JSON payload received. Oneof field 'data' is already set. "
                    f"Cannot set '{present[1]}'"
                )
            if "inlineData" in part:
                blob = part["inlineData"]
                if not blob.get("mimeType"):
                    violations.append((f"{path}.inline_data.mime_type", "must not be empty."))
                if "data" not in blob:
                    violations.append((f"{path}.inline_data.data", "must not be empty."))
            elif "fileData" in part and not part["fileData"].get("fileUri"):
                violations.append((f"{path}.file_data.file_uri", "must not be empty."))
            elif "functionCall" in part and not part["functionCall"].get("name"):
                violations.append((f"{path}.function_call.name", "Name cannot be empty."))
            elif "functionResponse" in part:
                response = part["functionResponse"]
                if not response.get("name"):
                    violations.append((f"{path}.function_response.name", "Name cannot be empty."))
                if "response" not in response:
                    violations.append(
                        (f"{path}.function_response.response", "response must be set.")
                    )


def _check_turns(contents: list[dict[str, Any]]) -> None:
    """Roles and function call/response pairing, as Gemini enforces them."""
    for i, content in enumerate(contents):
        role = content.get("role", "")
        if role not in ("", "user", "model"):
            raise _invalid(
                f"Please use a valid role: user, model. (contents[{i}].role is {_compact(role)})",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [
                            {
                                "field": f"contents[{i}].role",
                                "description": f"Invalid role {_compact(role)}; use user or model.",
                            }
                        ],
                    }
                ],
            )
    for i, content in enumerate(contents):
        responses = [p["functionResponse"] for p in content["parts"] if "functionResponse" in p]
        if not responses:
            continue
        previous = contents[i - 1] if i > 0 else None
        calls = (
            [p["functionCall"] for p in previous["parts"] if "functionCall" in p]
            if previous is not None and previous.get("role") == "model"
            else []
        )
        if not calls:
            raise _invalid(
                "Please ensure that function response turn comes immediately after a function "
                "call turn."
            )
        if len(responses) != len(calls):
            raise _invalid(
                "Please ensure that the number of function response parts is equal to the number "
                "of function call parts of the function call turn."
            )
        called = {c["name"] for c in calls}
        for response in responses:
            if response["name"] not in called:
                raise _invalid(
                    f"Function response name {response['name']!r} in contents[{i}] does not "
                    f"match any function call of the preceding model turn ({sorted(called)})."
                )


def _declared_functions(
    tools: list[dict[str, Any]], violations: list[tuple[str, str]]
) -> list[str]:
    names: list[str] = []
    for i, tool in enumerate(tools):
        for j, decl in enumerate(tool.get("functionDeclarations", [])):
            path = f"tools[{i}].function_declarations[{j}]"
            name = decl.get("name", "")
            if not _FUNCTION_NAME_RE.fullmatch(name):
                violations.append(
                    (
                        f"{path}.name",
                        "Invalid function name. Must start with a letter or an underscore. Must "
                        "be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or "
                        "dashes (-), with a maximum length of 64.",
                    )
                )
            elif name in names:
                violations.append((f"{path}.name", f"Duplicate function declaration found: {name}"))
            if "parameters" in decl and "parametersJsonSchema" in decl:
                violations.append(
                    (
                        f"{path}.parameters",
                        "parameters and parameters_json_schema must not both be set.",
                    )
                )
            names.append(name)
    return names


def _function_schema(tools: list[dict[str, Any]], name: str) -> Any:
    """The parameters schema of a declared function (OpenAPI-style or JSON Schema), or None."""
    for tool in tools:
        for decl in tool.get("functionDeclarations", []):
            if decl.get("name") == name:
                return decl.get("parameters") or decl.get("parametersJsonSchema")
    return None


def _validate_generation_config(config: dict[str, Any], violations: list[tuple[str, str]]) -> None:
    where = "generation_config"
    temperature = config.get("temperature")
    if temperature is not None and not 0.0 <= temperature <= 2.0:
        violations.append((f"{where}.temperature", "temperature must be in the range [0.0, 2.0]"))
    top_p = config.get("topP")
    if top_p is not None and not 0.0 <= top_p <= 1.0:
        violations.append((f"{where}.top_p", "top_p must be in the range [0.0, 1.0]"))
    top_k = config.get("topK")
    if top_k is not None and top_k < 0:
        violations.append((f"{where}.top_k", "top_k must be non-negative."))
    max_tokens = config.get("maxOutputTokens")
    if max_tokens is not None and max_tokens < 1:
        violations.append((f"{where}.max_output_tokens", "max_output_tokens must be positive."))
    stops = config.get("stopSequences", [])
    if len(stops) > MAX_STOP_SEQUENCES:
        violations.append(
            (
                f"{where}.stop_sequences",
                f"at most {MAX_STOP_SEQUENCES} stop sequences are allowed.",
            )
        )
    count = config.get("candidateCount")
    if count is not None and not 1 <= count <= MAX_CANDIDATES:
        violations.append(
            (
                f"{where}.candidate_count",
                f"candidate_count must be in the range [1, {MAX_CANDIDATES}]",
            )
        )
    mime = config.get("responseMimeType")
    if mime is not None and mime not in _RESPONSE_MIME_TYPES:
        violations.append(
            (
                f"{where}.response_mime_type",
                "allowed mimetypes are `text/plain`, `application/json`, `application/xml`, "
                "`application/yaml` and `text/x.enum`.",
            )
        )


def _plan_generate(request: dict[str, Any], model: str) -> _GenPlan:
    """Validate a parsed GenerateContentRequest and decide the reply."""
    violations: list[tuple[str, str]] = []
    contents: list[dict[str, Any]] = request.get("contents", [])
    if not contents:
        violations.append(("contents", "contents is not specified"))
    system = request.get("systemInstruction")
    _validate_contents(
        [(f"contents[{i}]", c) for i, c in enumerate(contents)]
        + ([("system_instruction", system)] if system is not None else []),
        violations,
    )
    config: dict[str, Any] = request.get("generationConfig", {})
    _validate_generation_config(config, violations)
    declared = _declared_functions(request.get("tools", []), violations)
    calling: dict[str, Any] = request.get("toolConfig", {}).get("functionCallingConfig", {})
    mode = calling.get("mode", "MODE_UNSPECIFIED")
    allowed: list[str] = calling.get("allowedFunctionNames", [])
    if allowed and mode not in ("ANY", "VALIDATED"):
        violations.append(
            (
                "tool_config.function_calling_config.allowed_function_names",
                "allowed_function_names may only be set when mode is ANY or VALIDATED.",
            )
        )
    for i, name in enumerate(allowed):
        if declared and name not in declared:
            violations.append(
                (
                    f"tool_config.function_calling_config.allowed_function_names[{i}]",
                    f"function {name!r} is not declared in tools.",
                )
            )
    for i, setting in enumerate(request.get("safetySettings", [])):
        if "category" not in setting or "threshold" not in setting:
            violations.append((f"safety_settings[{i}]", "category and threshold are required."))
    if violations:
        raise _bullets("GenerateContentRequest", violations)
    if (mode == "ANY" or allowed) and not declared:
        raise _invalid("Function calling config is set without function_declarations.")
    _check_turns(contents)

    # -- usage -----------------------------------------------------------------------------
    by_modality: dict[str, int] = {}
    for content in ([system] if system is not None else []) + contents:
        for part in content["parts"]:
            tokens, modality = _part_tokens(part)
            by_modality[modality] = by_modality.get(modality, 0) + tokens
    prompt_tokens = max(sum(by_modality.values()), 1)
    if not any(by_modality.values()):
        by_modality = {"TEXT": 1}
    details = [{"modality": m, "tokenCount": n} for m, n in by_modality.items() if n]
    cached = min(CACHED_CONTENT_TOKENS, prompt_tokens) if model == MODEL_CACHED else 0
    plan = _GenPlan(
        model=model,
        usage=_Usage(prompt_tokens, details, cached),
        candidate_count=config.get("candidateCount", 1),
    )

    # -- reply -----------------------------------------------------------------------------
    last_user_words: list[str] = []
    last_user_answers = False
    for content in contents:
        if (content.get("role") or "user") != "user":
            continue
        words = [w for w in (part_text(p) for p in content["parts"]) if w is not None]
        if words:
            last_user_words = words
            last_user_answers = any("functionResponse" in p for p in content["parts"])
    last_user = " ".join(last_user_words)

    if declared and mode != "NONE" and not last_user_answers:
        name = allowed[0] if allowed else declared[0]
        schema = _function_schema(request.get("tools", []), name) or {"type": "OBJECT"}
        plan.function_call = {"name": name, "args": sample(schema, last_user)}
        return plan

    text = "Echo: " + last_user
    if config.get("responseMimeType") == "application/json":
        text = json.dumps(sample(config.get("responseSchema") or {"type": "OBJECT"}, last_user))
    cut = min(
        (p for p in (text.find(s) for s in config.get("stopSequences", []) if s) if p >= 0),
        default=-1,
    )
    if cut >= 0:
        text = text[:cut]
    pieces = chat_pieces(text)
    max_words = config.get("maxOutputTokens")
    if max_words is not None and max_words < len(pieces):
        pieces = pieces[:max_words]
        pieces[-1] = pieces[-1].rstrip()
        plan.finish_reason = "MAX_TOKENS"
    plan.pieces = pieces
    return plan


def _safety_ratings() -> list[dict[str, Any]]:
    return [
        {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True},
    ]


def _response(
    plan: _GenPlan,
    response_id: str,
    parts: list[dict[str, Any]] | None,
    finish_reason: str | None,
    candidates_tokens: int,
) -> dict[str, Any]:
    """One GenerateContentResponse (a whole reply, or one streamed chunk of it)."""
    candidates: list[dict[str, Any]] = []
    for index in range(plan.candidate_count):
        candidate: dict[str, Any] = {}
        if parts is not None:
            candidate["content"] = {"parts": parts, "role": "model"}
        if finish_reason is not None:
            candidate["finishReason"] = finish_reason
        candidate["index"] = index
        if finish_reason == "SAFETY":
            candidate["safetyRatings"] = _safety_ratings()
        candidates.append(candidate)
    return {
        "candidates": candidates,
        "usageMetadata": plan.usage.render(candidates_tokens),
        "modelVersion": plan.model,
        "responseId": response_id,
    }


def _responses(plan: _GenPlan, stream: bool) -> Iterator[dict[str, Any]]:
    """The whole reply (``stream=False``: exactly one item) or its stream chunks, in order."""
    response_id = _response_id()
    if plan.model == MODEL_SAFETY:
        yield _response(plan, response_id, None, "SAFETY", 0)
        return
    if plan.function_call is not None:
        part = {"functionCall": plan.function_call}
        yield _response(plan, response_id, [part], plan.finish_reason, plan.candidates_tokens)
        return
    if not stream or len(plan.pieces) <= 1:
        parts = [{"text": plan.text}]
        yield _response(plan, response_id, parts, plan.finish_reason, plan.candidates_tokens)
        return
    # Like Gemini, every chunk carries usageMetadata with the running candidate count; the last
    # one carries the finishReason and the final numbers.
    so_far = ""
    last = len(plan.pieces) - 1
    for i, piece in enumerate(plan.pieces):
        so_far += piece
        tokens = count_words(so_far) * plan.candidate_count
        finish = plan.finish_reason if i == last else None
        yield _response(plan, response_id, [{"text": piece}], finish, tokens)


# ---------------------------------------------------------------------------------------------
# Request handling
# ---------------------------------------------------------------------------------------------


def _api_key(request: web.Request) -> str | None:
    key = request.headers.get("x-goog-api-key", "").strip() or request.query.get("key", "").strip()
    return key or None


async def _prelude(request: web.Request) -> Any:
    """Record the request, check auth and parse the body. Returns the body (None if empty)."""
    body, ok = await read_json(request, empty_ok=True)  # an empty body is an empty message
    log_request(request, body, RecordedRequest.of)
    key = _api_key(request)
    if key is None:
        if request.headers.get("Authorization", "").lower().startswith("bearer "):
            raise _HTTPFailure(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                "login cookie or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    }
                ],
            )
        raise _HTTPFailure(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
        )
    expected = request.app.get(EXPECTED_KEY)
    if expected is not None and key != expected:
        message = "API key not valid. Please pass a valid API key."
        raise _HTTPFailure(
            400,
            message,
            [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                },
                {
                    "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                    "locale": "en-US",
                    "message": message,
                },
            ],
        )
    if not ok:
        raise _invalid("Invalid JSON payload received. Unexpected token.")
    return {} if body is None and request.method == "POST" else body


async def _special_model(request: web.Request, model: str) -> None:
    """Raise the configured failure for special model names; sleep for ``fake-slow``."""
    if model == MODEL_EXHAUSTED:
        raise _HTTPFailure(
            429,
            "Resource has been exhausted",
            [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": RETRY_DELAY}],
        )
    if model == MODEL_ERROR_500:
        raise _HTTPFailure(
            500,
            "An internal error has occurred. Please retry or report in "
            "https://developers.generativeai.google/guide/troubleshooting",
        )
    if model == MODEL_UNAVAILABLE:
        raise _HTTPFailure(503, "The model is overloaded. Please try again later.")
    if model == MODEL_ERROR_400:
        raise _invalid("* GenerateContentRequest.contents: the fake-error-400 model rejects it.")
    if model == MODEL_ERROR_404:
        raise _HTTPFailure(
            404,
            f"models/{model} is not found for API version v1beta, or is not supported for "
            "generateContent. Call ListModels to see the list of available models and their "
            "supported methods.",
        )
    if model == MODEL_SLOW:
        await asyncio.sleep(request.app[SLOW_SECONDS])


def _check_method(model: str, method: str, version: str) -> None:
    """Known catalog models only serve their supportedGenerationMethods (like Google)."""
    known = _MODELS_BY_ID.get(model)
    supported = known["supportedGenerationMethods"] if known else None
    if method in ("batchEmbedContents", "embedContent"):
        ok = supported is None or "embedContent" in supported
    else:
        ok = supported is None or "generateContent" in supported
    if not ok:
        raise _HTTPFailure(
            404,
            f"models/{model} is not found for API version {version}, or is not supported for "
            f"{method}. Call ListModels to see the list of available models and their supported "
            "methods.",
        )


def _is_json_array_stream(request: web.Request) -> bool:
    return (
        request.match_info.get("method") == "streamGenerateContent"
        and request.query.get("alt") != "sse"
    )


def _guarded(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except _HTTPFailure as failure:
            # streamGenerateContent without alt=sse wraps even its errors in a JSON array.
            return _error_response(failure, as_array=_is_json_array_stream(request))

    wrapped.__name__ = handler.__name__
    return wrapped


async def _model_method(request: web.Request) -> web.StreamResponse:
    body = await _prelude(request)
    model = request.match_info["model"]
    method = request.match_info["method"]
    version = request.match_info["version"]
    if method in ("generateContent", "streamGenerateContent"):
        return await _generate(request, body, model, method, version)
    if method == "countTokens":
        return await _count_tokens(body, model, version)
    if method == "batchEmbedContents":
        return await _batch_embed(request, body, model, version)
    if method == "embedContent":
        return await _embed_one(request, body, model, version)
    raise _HTTPFailure(response=_not_found_page(request.path), code=404)


async def _generate(
    request: web.Request, body: Any, model: str, method: str, version: str
) -> web.StreamResponse:
    parsed = _ProtoJson().parse(body, "GenerateContentRequest")
    _check_method(model, method, version)
    plan = _plan_generate(parsed, model)
    await _special_model(request, model)
    sse = request.query.get("alt") == "sse"
    if method == "generateContent" and not sse:
        (reply,) = _responses(plan, stream=False)
        return _json(reply)

    headers = dict(_BASE_HEADERS)
    headers["Content-Type"] = _SSE_CT if sse else _JSON_CT
    headers["Content-Disposition"] = "attachment"
    response = web.StreamResponse(status=200, headers=headers)
    await response.prepare(request)
    stall = model == MODEL_STALL_STREAM
    try:
        chunks = _responses(plan, stream=method == "streamGenerateContent")
        for i, chunk in enumerate(chunks):
            if sse:
                frame = b"data: " + _encode(chunk) + _SSE_SEP
            else:
                frame = (b"[" if i == 0 else _ARRAY_SEP) + _pretty(chunk)
            await response.write(frame)
            if stall and i == 0:
                await asyncio.sleep(request.app[SLOW_SECONDS])
        if not sse:
            await response.write(b"]")
        await response.write_eof()
    except ConnectionError:
        pass  # client went away mid-stream
    return response


async def _count_tokens(body: Any, model: str, version: str) -> web.StreamResponse:
    parsed = _ProtoJson().parse(body, "CountTokensRequest")
    _check_method(model, "countTokens", version)
    inner = parsed.get("generateContentRequest")
    if inner is not None and "contents" in parsed:
        raise _invalid("contents and generate_content_request must not both be set.")
    plan = _plan_generate(inner if inner is not None else parsed, model)
    return _json(
        {
            "totalTokens": plan.usage.prompt_tokens,
            "promptTokensDetails": plan.usage.prompt_details,
        }
    )


def _embed_text(request: dict[str, Any], path: str, violations: list[tuple[str, str]]) -> str:
    content = request.get("content")
    if content is None:
        violations.append((f"{path}.content", "content is not specified"))
        return ""
    texts: list[str] = []
    parts = content.get("parts") or []
    if not parts:
        violations.append((f"{path}.content.parts", "contents.parts must not be empty."))
    for j, part in enumerate(parts):
        if "text" not in part:
            violations.append(
                (f"{path}.content.parts[{j}]", "only text parts are supported for embeddings.")
            )
        else:
            texts.append(part["text"])
    return " ".join(texts)


def _embed_dims(request: dict[str, Any], path: str, violations: list[tuple[str, str]]) -> int:
    dims = request.get("outputDimensionality", DEFAULT_EMBEDDING_DIMENSIONS)
    if not 1 <= dims <= MAX_EMBEDDING_DIMENSIONS:
        violations.append(
            (
                f"{path}.output_dimensionality",
                f"output_dimensionality must be in the range [1, {MAX_EMBEDDING_DIMENSIONS}].",
            )
        )
    return dims


async def _batch_embed(
    request: web.Request, body: Any, model: str, version: str
) -> web.StreamResponse:
    parsed = _ProtoJson().parse(body, "BatchEmbedContentsRequest")
    _check_method(model, "batchEmbedContents", version)
    requests: list[dict[str, Any]] = parsed.get("requests", [])
    violations: list[tuple[str, str]] = []
    if not requests:
        violations.append(("requests", "requests is not specified"))
    if len(requests) > MAX_EMBED_BATCH:
        violations.append(("requests", f"at most {MAX_EMBED_BATCH} requests can be in one batch."))
    inputs: list[tuple[str, int]] = []
    for i, item in enumerate(requests):
        path = f"requests[{i}]"
        if item.get("model") != f"models/{model}":
            violations.append(
                (
                    f"{path}.model",
                    f"Model names should be the same as the batch model: expected "
                    f"models/{model}, got {item.get('model', '')!r}.",
                )
            )
        inputs.append((_embed_text(item, path, violations), _embed_dims(item, path, violations)))
    if violations:
        raise _bullets("BatchEmbedContentsRequest", violations)
    await _special_model(request, model)
    return _json(
        {
            "embeddings": [
                {"values": embedding_vector(text.encode(), dims).tolist()} for text, dims in inputs
            ]
        }
    )


async def _embed_one(
    request: web.Request, body: Any, model: str, version: str
) -> web.StreamResponse:
    parsed = _ProtoJson().parse(body, "EmbedContentRequest")
    _check_method(model, "embedContent", version)
    violations: list[tuple[str, str]] = []
    text = _embed_text(parsed, "", violations)
    dims = _embed_dims(parsed, "", violations)
    if violations:
        raise _bullets("EmbedContentRequest", [(f.lstrip("."), m) for f, m in violations])
    await _special_model(request, model)
    return _json({"embedding": {"values": embedding_vector(text.encode(), dims).tolist()}})


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


async def _list_models(request: web.Request) -> web.StreamResponse:
    await _prelude(request)
    raw_size = request.query.get("pageSize", "")
    size = DEFAULT_PAGE_SIZE
    if raw_size:
        if not re.fullmatch(r"\d+", raw_size):
            raise _invalid(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw_size}\"")
        size = min(int(raw_size), MAX_PAGE_SIZE) or DEFAULT_PAGE_SIZE
    offset = 0
    token = request.query.get("pageToken", "")
    if token:
        decoded = _b64decode(token)
        match = re.fullmatch(rb"offset:(\d+)", decoded or b"")
        if match is None:
            raise _invalid("Invalid page token.")
        offset = int(match.group(1))
    page: dict[str, Any] = {"models": list(_MODELS[offset : offset + size])}
    if offset + size < len(_MODELS):
        page["nextPageToken"] = _page_token(offset + size)
    return _json(page)


async def _get_model(request: web.Request) -> web.StreamResponse:
    await _prelude(request)
    model_id = request.match_info["model"]
    model = _MODELS_BY_ID.get(model_id)
    if model is None:
        raise _HTTPFailure(
            404,
            f"models/{model_id} is not found for API version {request.match_info['version']}, "
            "or is not supported for GetModel. Call ListModels to see the list of available "
            "models and their supported methods.",
        )
    return _json(model)


async def _not_found(request: web.Request) -> web.StreamResponse:
    await _prelude(request)
    return _not_found_page(request.path)


def create_app(
    expected_key: str | None = None,
    *,
    record: bool = True,
    slow_seconds: float = DEFAULT_SLOW_SECONDS,
    request_log: RequestLog[Any] | None = None,
) -> web.Application:
    """Build the fake Gemini application.

    ``expected_key``: if set, any other API key gets 400 ``API_KEY_INVALID``.
    ``record``: keep a :class:`RequestLog` in ``app[REQUEST_LOG]`` (``request_log`` if given).
    ``slow_seconds``: delay used by ``fake-slow`` and ``fake-stall-stream``.
    """
    app = new_app(expected_key, record=record, slow_seconds=slow_seconds, request_log=request_log)
    version = "{version:v1|v1beta}"
    app.router.add_post(
        f"/{version}/models/{{model:[^/:]+}}:{{method:[A-Za-z]+}}", _guarded(_model_method)
    )
    app.router.add_get(f"/{version}/models", _guarded(_list_models))
    app.router.add_get(f"/{version}/models/{{model:[^/:]+}}", _guarded(_get_model))
    app.router.add_route("*", "/{tail:.*}", _guarded(_not_found))
    return app


# ---------------------------------------------------------------------------------------------
# Background-thread runner and CLI
# ---------------------------------------------------------------------------------------------


class FakeGemini(FakeServer[RecordedRequest]):
    """:func:`create_app` served by :class:`FakeServer` (``with FakeGemini() as fake:`` or
    ``async with``). ``base_url`` has no API version: clients append ``/v1beta/...`` (or
    ``/v1/...``)."""

    app_factory = staticmethod(create_app)
    thread_name = "fake-gemini"


def main(argv: list[str] | None = None) -> None:
    run_main(
        argv,
        prog="python -m tests.fakes.gemini_upstream",
        description="Fake Gemini upstream server.",
        default_port=9200,
        key_help="only accept this API key",
        create_app=create_app,
        banner="fake Gemini upstream listening on http://{host}:{port} (/v1beta/models/...)",
    )


if __name__ == "__main__":
    main()
