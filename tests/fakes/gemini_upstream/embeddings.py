"""`embedContent` and `batchEmbedContents`: hash-derived vectors of the requested dimensions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.gemini_upstream.errors import bullets, check_method, json_response, special_model
from tests.fakes.gemini_upstream.models import (
    DEFAULT_EMBEDDING_DIMENSIONS,
    MAX_EMBED_BATCH,
    MAX_EMBEDDING_DIMENSIONS,
)
from tests.fakes.gemini_upstream.proto_json import ProtoJson
from tests.fakes.server import (
    embedding_vector,
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


async def batch_embed(
    request: web.Request, body: Any, model: str, version: str
) -> web.StreamResponse:
    parsed = ProtoJson().parse(body, "BatchEmbedContentsRequest")
    check_method(model, "batchEmbedContents", version)
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
        raise bullets("BatchEmbedContentsRequest", violations)
    await special_model(request, model)
    return json_response(
        {
            "embeddings": [
                {"values": embedding_vector(text.encode(), dims).tolist()} for text, dims in inputs
            ]
        }
    )


async def embed_one(
    request: web.Request, body: Any, model: str, version: str
) -> web.StreamResponse:
    parsed = ProtoJson().parse(body, "EmbedContentRequest")
    check_method(model, "embedContent", version)
    violations: list[tuple[str, str]] = []
    text = _embed_text(parsed, "", violations)
    dims = _embed_dims(parsed, "", violations)
    if violations:
        raise bullets("EmbedContentRequest", [(f.lstrip("."), m) for f, m in violations])
    await special_model(request, model)
    return json_response({"embedding": {"values": embedding_vector(text.encode(), dims).tolist()}})
