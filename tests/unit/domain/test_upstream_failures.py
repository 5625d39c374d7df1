"""The one table of upstream conditions: what each becomes on /v1, /v1/messages and the
WebSocket protocol, whatever the provider's kind."""

from __future__ import annotations

import pytest

from domains.providers.errors import UpstreamError
from domains.providers.model import answered_model
from domains.providers.upstream_failures import (
    ANSWERS,
    BY_CODE,
    Condition,
    condition_of_status,
    credentials_refused_message,
)


def test_every_condition_has_one_answer_and_its_own_code() -> None:
    assert set(ANSWERS) == set(Condition)
    assert len(BY_CODE) == len(ANSWERS)


@pytest.mark.parametrize(
    ("status", "condition"),
    [
        (401, Condition.CREDENTIALS_REFUSED),
        (403, Condition.CREDENTIALS_REFUSED),
        (400, Condition.INVALID_REQUEST),
        (422, Condition.INVALID_REQUEST),
        (402, Condition.SERVER_ERROR),
        (404, Condition.MODEL_NOT_FOUND),
        (408, Condition.TIMEOUT),
        (413, Condition.REQUEST_TOO_LARGE),
        (429, Condition.RATE_LIMITED),
        (500, Condition.SERVER_ERROR),
        (502, Condition.SERVER_ERROR),
        (503, Condition.OVERLOADED),
        (504, Condition.TIMEOUT),
        (529, Condition.OVERLOADED),
        (302, Condition.SERVER_ERROR),
    ],
)
def test_condition_of_an_upstream_status(status: int, condition: Condition) -> None:
    assert condition_of_status(status) is condition


@pytest.mark.parametrize(
    ("condition", "status", "error_type", "code", "anthropic"),
    [
        (
            Condition.CREDENTIALS_REFUSED,
            502,
            "upstream_error",
            "upstream_credentials_refused",
            (502, "api_error"),
        ),
        (
            Condition.RATE_LIMITED,
            429,
            "rate_limit_error",
            "rate_limit_exceeded",
            (429, "rate_limit_error"),
        ),
        (
            Condition.OVERLOADED,
            503,
            "service_unavailable",
            "upstream_overloaded",
            (529, "overloaded_error"),
        ),
        (Condition.TIMEOUT, 504, "timeout", "upstream_timeout", (504, "timeout_error")),
        (
            Condition.MODEL_NOT_FOUND,
            404,
            "not_found_error",
            "model_not_found",
            (404, "not_found_error"),
        ),
    ],
)
def test_an_upstream_error_takes_its_answer_from_the_table(
    condition: Condition, status: int, error_type: str, code: str, anthropic: tuple[int, str]
) -> None:
    error = UpstreamError(condition, "m", retry_after="7")
    assert (error.status, error.error_type, error.code) == (status, error_type, code)
    assert (error.anthropic_status, error.anthropic_type) == anthropic
    keeps = condition in (Condition.RATE_LIMITED, Condition.OVERLOADED)
    assert error.retry_after == ("7" if keeps else None)


def test_the_credentials_message_names_the_provider_and_not_the_callers_key() -> None:
    message = credentials_refused_message("openai", 401)
    assert "credentials for provider `openai` were refused" in message
    assert "not a problem with your key" in message


@pytest.mark.parametrize(
    ("named", "expected"),
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"),
        (None, "gpt-4o-mini"),
        ("", "gpt-4o-mini"),
        (3, "gpt-4o-mini"),
    ],
)
def test_the_answered_model_is_the_upstreams_else_the_configured_upstream_name(
    named: object, expected: str
) -> None:
    assert answered_model(named, "gpt-4o-mini") == expected
