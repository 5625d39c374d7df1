"""Gemini embeddings ↔ OpenAI embeddings: one request of every input, the batch's own model and
one output size, and the vectors back in the requests' order."""

from __future__ import annotations

from typing import Any

import pytest

from domains.providers.errors import InvalidRequest
from interfaces.http.gemini.embeddings import (
    batch_request,
    batch_response,
    embed_request,
    embed_response,
)


def content(*texts: str) -> dict[str, Any]:
    return {"parts": [{"text": text} for text in texts]}


def test_one_content_is_one_input() -> None:
    body = {"content": content("a", "b"), "taskType": "RETRIEVAL_QUERY", "outputDimensionality": 4}
    assert embed_request(body, model="m") == {
        "model": "m",
        "input": ["a\nb"],
        "encoding_format": "float",
        "dimensions": 4,
    }


def test_a_batch_is_one_request_of_its_inputs() -> None:
    body = {"requests": [{"model": "models/m", "content": content("x")}, {"content": content("y")}]}
    assert batch_request(body, model="m") == {
        "model": "m",
        "input": ["x", "y"],
        "encoding_format": "float",
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"requests": []}, "requests"),
        ({"requests": [{"model": "models/other", "content": content("x")}]}, "requests[0].model"),
        (
            {
                "requests": [
                    {"content": content("x"), "outputDimensionality": 4},
                    {"content": content("y")},
                ]
            },
            "requests",
        ),
        (
            {"requests": [{"content": {"parts": [{"inlineData": {}}]}}]},
            "requests[0].content.parts[0]",
        ),
        ({"requests": [{"content": content("")}]}, "requests[0].content.parts"),
    ],
)
def test_a_bad_batch_is_a_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        batch_request(body, model="m")
    assert refused.value.param == param


def test_vectors_come_back_in_order() -> None:
    answer = {
        "data": [
            {"index": 1, "embedding": [0.5, 1]},
            {"index": 0, "embedding": [0.25, -1]},
        ]
    }
    assert batch_response(answer) == {
        "embeddings": [{"values": [0.25, -1.0]}, {"values": [0.5, 1.0]}]
    }
    assert embed_response(answer) == {"embedding": {"values": [0.25, -1.0]}}
    assert embed_response({"data": "junk"}) == {"embedding": {"values": []}}
