"""Embeddings (floats and base64) and the models' list, as the SDK parses them."""

from __future__ import annotations

import base64
import struct

import openai
import pytest

# -- embeddings ---------------------------------------------------------------------------------


def test_embeddings_float_and_base64_agree(client: openai.OpenAI) -> None:
    inputs = ["hello world", "another input here"]
    as_float = client.embeddings.create(model="text-embedding-3-small", input=inputs)
    explicit_float = client.embeddings.create(
        model="text-embedding-3-small", input=inputs, encoding_format="float"
    )
    explicit_b64 = client.embeddings.create(
        model="text-embedding-3-small", input=inputs, encoding_format="base64"
    )

    assert as_float.object == "list"
    assert as_float.model == "text-embedding-3-small"
    assert [d.index for d in as_float.data] == [0, 1]
    assert all(d.object == "embedding" for d in as_float.data)
    vectors = [d.embedding for d in as_float.data]  # SDK default: base64 on the wire, decoded
    assert all(len(v) == 8 for v in vectors)
    assert all(-1.0 <= x <= 1.0 for v in vectors for x in v)
    assert vectors[0] != vectors[1]
    assert [d.embedding for d in explicit_float.data] == vectors

    decoded: list[list[float]] = []
    for d in explicit_b64.data:
        raw = d.embedding
        assert isinstance(raw, str)  # the SDK leaves explicitly requested base64 untouched
        blob = base64.b64decode(raw)
        decoded.append(list(struct.unpack(f"<{len(blob) // 4}f", blob)))
    assert decoded == vectors
    assert as_float.usage.prompt_tokens == 5
    assert as_float.usage.total_tokens == 5


def test_embeddings_deterministic_tokens_and_dimensions(client: openai.OpenAI) -> None:
    a = client.embeddings.create(model="text-embedding-3-small", input="same text")
    b = client.embeddings.create(model="text-embedding-3-small", input=["same text"])
    assert a.data[0].embedding == b.data[0].embedding

    tokens = client.embeddings.create(
        model="text-embedding-3-small", input=[[1, 2, 3], [4, 5]], dimensions=16
    )
    assert [len(d.embedding) for d in tokens.data] == [16, 16]
    assert tokens.usage.prompt_tokens == 5

    flat = client.embeddings.create(model="text-embedding-3-small", input=[7, 8, 9, 10])
    assert len(flat.data) == 1
    assert flat.usage.prompt_tokens == 4


# -- models -----------------------------------------------------------------------------------


def test_models_list(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    ids = [m.id for m in models]
    assert "gpt-4o-mini" in ids
    assert "text-embedding-3-small" in ids
    assert all(m.object == "model" and m.owned_by == "fake" for m in models)
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")
