"""Embeddings both ways, and Gemini's errors as the gateway's upstream conditions."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import pytest

from domains.providers.errors import InvalidRequest
from domains.providers.upstream_failures import Condition
from infrastructure.adapters.providers.gemini_wire import (
    embeddings_request,
    embeddings_response,
    error_facts,
)

# --- embeddings ------------------------------------------------------------------------------


def test_embeddings_request() -> None:
    body = {"model": "e", "input": ["a", "b"], "dimensions": 256, "encoding_format": "base64"}
    assert embeddings_request(body, "text-embedding-004") == {
        "requests": [
            {
                "model": "models/text-embedding-004",
                "content": {"parts": [{"text": "a"}]},
                "outputDimensionality": 256,
            },
            {
                "model": "models/text-embedding-004",
                "content": {"parts": [{"text": "b"}]},
                "outputDimensionality": 256,
            },
        ]
    }
    one = embeddings_request({"input": "x"}, "models/gemini-embedding-001")
    assert one == {
        "requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "x"}]}}
        ]
    }


@pytest.mark.parametrize("value", [[1, 2, 3], [[1, 2]], [], ["a", ""], 3, None])
def test_embeddings_of_anything_but_text_are_refused(value: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        embeddings_request({"input": value}, "m")
    assert caught.value.param == "input"


def test_embeddings_response_floats_and_base64() -> None:
    resp = {"embeddings": [{"values": [0.5, -1.0]}, {"values": [0.25]}]}
    plain = embeddings_response(resp, model="e", base64=False, input_tokens=4)
    assert plain == {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.5, -1.0]},
            {"object": "embedding", "index": 1, "embedding": [0.25]},
        ],
        "model": "e",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
    packed = embeddings_response(resp, model="e", base64=True, input_tokens=4)["data"][0][
        "embedding"
    ]
    assert struct.unpack("<2f", base64.b64decode(packed)) == (0.5, -1.0)


# --- error_facts -----------------------------------------------------------------------------


def gemini_error(code: int, status: str, message: str = "boom", details: Any = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("delay", "expected"),
    [("7s", "7"), ("7.2s", "8"), ("0.5s", "1"), ("30.000s", "30"), ("soon", "12")],
)
def test_rate_limits_carry_retry_after(delay: str, expected: str) -> None:
    details = [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
    ]
    body = gemini_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", details)
    assert error_facts(429, body, "12") == (Condition.RATE_LIMITED, "Quota exceeded", expected)


@pytest.mark.parametrize(
    ("status", "grpc", "expected"),
    [
        (400, "INVALID_ARGUMENT", Condition.INVALID_REQUEST),
        (400, "FAILED_PRECONDITION", Condition.INVALID_REQUEST),
        (403, "PERMISSION_DENIED", Condition.CREDENTIALS_REFUSED),
        (401, "UNAUTHENTICATED", Condition.CREDENTIALS_REFUSED),
        (404, "NOT_FOUND", Condition.MODEL_NOT_FOUND),
        (503, "UNAVAILABLE", Condition.OVERLOADED),
        (504, "DEADLINE_EXCEEDED", Condition.TIMEOUT),
        (500, "INTERNAL", Condition.SERVER_ERROR),
        (429, "", Condition.RATE_LIMITED),
    ],
)
def test_error_statuses(status: int, grpc: str, expected: Condition) -> None:
    assert error_facts(status, gemini_error(status, grpc), None) == (expected, "boom", None)


def test_an_invalid_api_key_is_the_gateways_credentials_refused() -> None:
    """Google answers a key it does not take with 400 INVALID_ARGUMENT, not 401."""
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
    }
    body = gemini_error(400, "INVALID_ARGUMENT", "API key not valid.", [info])
    assert error_facts(400, body, None)[0] is Condition.CREDENTIALS_REFUSED


def test_an_input_over_the_token_limit_is_the_context_length_condition() -> None:
    message = "The input token count (1048577) exceeds the maximum number of tokens allowed."
    body = gemini_error(400, "INVALID_ARGUMENT", message)
    assert error_facts(400, body, None)[0] is Condition.CONTEXT_LENGTH_EXCEEDED


def test_errors_in_an_array_and_junk_bodies() -> None:
    wrapped = b"[" + gemini_error(400, "INVALID_ARGUMENT", "bad") + b"]"
    assert error_facts(400, wrapped, None)[:2] == (Condition.INVALID_REQUEST, "bad")
    assert error_facts(502, b"<html>Bad Gateway</html>", None) == (
        Condition.SERVER_ERROR,
        "<html>Bad Gateway</html>",
        None,
    )
    assert error_facts(429, b"", " 5 ") == (Condition.RATE_LIMITED, "no error message", "5")
