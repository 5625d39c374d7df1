"""A Redis outage met while serving is a 503 with Retry-After in the caller's error shape (the
end-to-end test stops a Redis of its own under a gateway: tests/e2e/test_redis_outage.py)."""

from __future__ import annotations

import json

import pytest
import redis.exceptions

from interfaces.http.errors import openai_error_of, openai_error_parts


def _raised_from(cause: BaseException) -> Exception:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError("enqueueing failed") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6390."),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory"),
        _raised_from(redis.exceptions.ConnectionError("Connection reset by peer")),
    ],
)
def test_redis_unavailable_is_503_with_retry_after(error: Exception) -> None:
    status, body, headers = openai_error_parts(error)
    assert status == 503
    assert int(headers["Retry-After"]) >= 1
    error_object = json.loads(body)["error"]
    assert error_object["type"] == "service_unavailable"
    assert "Redis" in error_object["message"]
    assert "6390" not in error_object["message"]  # nothing of the address it failed on


def test_other_errors_are_still_500() -> None:
    status, _, headers = openai_error_of(ValueError("a bug"))
    assert (status, headers) == (500, {})
