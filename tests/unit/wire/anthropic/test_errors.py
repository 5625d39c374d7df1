"""Anthropic's errors as the gateway's upstream conditions."""

from __future__ import annotations

import json

import pytest

from domains.providers.upstream_failures import Condition
from infrastructure.adapters.providers.anthropic_wire import (
    error_facts,
)

# --- error_facts -------------------------------------------------------------------------------


def anthropic_error(kind: str, message: str = "msg") -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (529, "overloaded_error", Condition.OVERLOADED),
        (429, "rate_limit_error", Condition.RATE_LIMITED),
        (500, "api_error", Condition.SERVER_ERROR),
        (400, "invalid_request_error", Condition.INVALID_REQUEST),
        (401, "authentication_error", Condition.CREDENTIALS_REFUSED),
        (403, "permission_error", Condition.CREDENTIALS_REFUSED),
        (404, "not_found_error", Condition.MODEL_NOT_FOUND),
        (413, "request_too_large", Condition.REQUEST_TOO_LARGE),
        (402, "billing_error", Condition.SERVER_ERROR),
        (504, "timeout_error", Condition.TIMEOUT),
    ],
)
def test_error_facts(status: int, kind: str, expected: Condition) -> None:
    assert error_facts(status, anthropic_error(kind, "Nope")) == (expected, "Nope")


def test_a_prompt_too_long_is_the_context_length_condition() -> None:
    body = anthropic_error("invalid_request_error", "prompt is too long: 210000 tokens > 200000")
    assert error_facts(400, body)[0] is Condition.CONTEXT_LENGTH_EXCEEDED


def test_error_facts_of_junk() -> None:
    assert error_facts(503, b"<html>bad gateway</html>") == (
        Condition.OVERLOADED,
        "<html>bad gateway</html>",
    )
    assert error_facts(502, b"<html>bad gateway</html>")[0] is Condition.SERVER_ERROR
    assert error_facts(529, b"") == (Condition.OVERLOADED, "upstream error (HTTP 529)")
    assert error_facts(400, b'{"error": "flat"}') == (
        Condition.INVALID_REQUEST,
        '{"error": "flat"}',
    )
