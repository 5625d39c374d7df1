"""Gemini `embedContent` and `batchEmbedContents` ↔ OpenAI embeddings, as pure functions: the
request becomes one OpenAI embeddings request for the pipeline's `embed` (whatever the
provider, Gemini's included), the answer goes back as Gemini's.

A content's text parts are embedded as one text (joined with a newline, as one vector, as
Gemini does); `outputDimensionality` → `dimensions` (one for the whole batch, as OpenAI takes
it); `taskType` and `title` have no OpenAI meaning and are dropped. Only `InvalidRequest`
leaves the request translators; the answer translators never raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domains.providers.errors import InvalidRequest
from interfaces.http.gemini.fields import array, check, field, integer, obj, string

MAX_BATCH = 2048  # what /v1/embeddings takes in one request


def _text(content: Any, where: str) -> str:
    content = obj(content, where)
    parts = array(field(content, "parts"), f"{where}.parts")
    check(bool(parts), f"{where}.parts", "must be a non-empty array")
    texts = []
    for j, part in enumerate(parts):
        at = f"{where}.parts[{j}]"
        text = field(obj(part, at), "text")
        if text is None:
            raise InvalidRequest(f"`{at}` must be a text part: only text is embedded.", param=at)
        texts.append(string(text, f"{at}.text"))
    joined = "\n".join(texts)
    check(joined != "", f"{where}.parts", "must hold some text")
    return joined


def _model(request: Mapping[str, Any], model: str, where: str) -> None:
    """Google's rule: a request of a batch names the batch's own model, or none."""
    named = field(request, "model")
    if named is None:
        return
    ok = isinstance(named, str) and named.removeprefix("models/") == model
    check(ok, f"{where}.model", f"must be models/{model}, the model of the batch")


def _dimensions(request: Mapping[str, Any], where: str) -> int | None:
    value = field(request, "outputDimensionality")
    return None if value is None else integer(value, f"{where}.outputDimensionality", least=1)


def _openai(model: str, texts: list[str], dimensions: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": texts, "encoding_format": "float"}
    if dimensions is not None:
        body["dimensions"] = dimensions
    return body


def embed_request(body: Any, *, model: str) -> dict[str, Any]:
    """An `EmbedContentRequest` → an OpenAI embeddings request of one input."""
    body = obj(body, "")
    _model(body, model, "")
    return _openai(model, [_text(field(body, "content"), "content")], _dimensions(body, ""))


def batch_request(body: Any, *, model: str) -> dict[str, Any]:
    """A `BatchEmbedContentsRequest` → one OpenAI embeddings request of all its inputs."""
    requests = array(field(obj(body, ""), "requests"), "requests")
    check(0 < len(requests) <= MAX_BATCH, "requests", f"must hold 1 to {MAX_BATCH} requests")
    texts: list[str] = []
    asked: set[int | None] = set()
    for i, item in enumerate(requests):
        where = f"requests[{i}]"
        request = obj(item, where)
        _model(request, model, where)
        texts.append(_text(field(request, "content"), f"{where}.content"))
        asked.add(_dimensions(request, where))
    check(len(asked) == 1, "requests", "must all ask for the same outputDimensionality")
    return _openai(model, texts, asked.pop())


def _index(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _vectors(answer: Any) -> list[list[float]]:
    data = answer.get("data") if isinstance(answer, Mapping) else None
    items = [item for item in (data if isinstance(data, list) else ()) if isinstance(item, Mapping)]
    items.sort(key=lambda item: _index(item.get("index")))
    vectors = []
    for item in items:
        values = item.get("embedding")
        numbers = values if isinstance(values, list) else []
        vectors.append(
            [float(v) for v in numbers if isinstance(v, (int, float)) and not isinstance(v, bool)]
        )
    return vectors


def embed_response(answer: Any) -> dict[str, Any]:
    """An OpenAI embeddings answer → an `EmbedContentResponse`."""
    vectors = _vectors(answer)
    return {"embedding": {"values": vectors[0] if vectors else []}}


def batch_response(answer: Any) -> dict[str, Any]:
    """An OpenAI embeddings answer → a `BatchEmbedContentsResponse`, in the requests' order."""
    return {"embeddings": [{"values": vector} for vector in _vectors(answer)]}
