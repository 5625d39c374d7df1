"""Embeddings (single and batch), the models' list, Google's HTML 404, the async client and
client errors."""

from __future__ import annotations

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.wire.gemini.support import API_KEY, MODEL, expected_vector


def test_embed_content_batch(fake: FakeGemini, client: genai.Client) -> None:
    fake.clear()
    result = client.models.embed_content(
        model="text-embedding-004", contents=["hello world", "goodbye"]
    )
    assert result.embeddings is not None
    assert [e.values for e in result.embeddings] == [
        expected_vector("hello world", 8),
        expected_vector("goodbye", 8),
    ]
    (recorded,) = fake.requests
    assert recorded.path == "/v1beta/models/text-embedding-004:batchEmbedContents"
    assert recorded.json["requests"][0]["model"] == "models/text-embedding-004"

    sized = client.models.embed_content(
        model="text-embedding-004",
        contents=["hello world"],
        config=types.EmbedContentConfig(output_dimensionality=4, task_type="RETRIEVAL_QUERY"),
    )
    assert sized.embeddings is not None
    assert sized.embeddings[0].values == expected_vector("hello world", 4)


def test_embed_content_single_endpoint(fake: FakeGemini) -> None:
    response = httpx.post(
        f"{fake.base_url}/v1beta/models/text-embedding-004:embedContent",
        headers={"x-goog-api-key": API_KEY},
        json={"content": {"parts": [{"text": "hello world"}]}, "outputDimensionality": 3},
    )
    assert response.status_code == 200
    assert response.json() == {"embedding": {"values": expected_vector("hello world", 3)}}


def test_models_list(client: genai.Client) -> None:
    models = list(client.models.list())
    assert [m.name for m in models] == [
        "models/gemini-2.5-flash",
        "models/gemini-2.5-pro",
        "models/text-embedding-004",
    ]
    flash = models[0]
    assert flash.display_name == "Gemini 2.5 Flash"
    assert flash.input_token_limit == 1048576
    assert flash.supported_actions is not None
    assert "generateContent" in flash.supported_actions
    assert models[2].supported_actions == ["embedContent"]

    paged = list(client.models.list(config={"page_size": 2}))
    assert [m.name for m in paged] == [m.name for m in models]


def test_unknown_url_is_google_html_404(fake: FakeGemini) -> None:
    response = httpx.get(f"{fake.base_url}/v1beta/nope", headers={"x-goog-api-key": API_KEY})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "/v1beta/nope" in response.text


# -- lifecycle ------------------------------------------------------------------------------------


async def test_async_context_manager() -> None:
    async with FakeGemini() as server:
        assert server.running
        async with httpx.AsyncClient() as http:
            response = await http.get(
                f"{server.base_url}/v1beta/models/{MODEL}", headers={"x-goog-api-key": "k"}
            )
        assert response.json()["name"] == f"models/{MODEL}"
    assert not server.running


def test_client_errors_400_and_404(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as invalid:
        client.models.generate_content(model="fake-error-400", contents="hi")
    assert (invalid.value.code, invalid.value.status) == (400, "INVALID_ARGUMENT")
    with pytest.raises(errors.ClientError) as missing:
        client.models.generate_content(model="fake-error-404", contents="hi")
    assert (missing.value.code, missing.value.status) == (404, "NOT_FOUND")
    assert "models/fake-error-404 is not found" in (missing.value.message or "")
