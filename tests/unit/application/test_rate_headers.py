"""The x-ratelimit-* headers and Retry-After, with resets written the way OpenAI writes them."""

from __future__ import annotations

import pytest

from application.billing.rate_headers import duration, ratelimit_headers
from domains.billing.rate_limit import RateDecision, RateWindow


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.02, "20ms"),
        (0.0201, "21ms"),  # rounded up: a client waiting that long finds the bucket ready
        (0.999, "999ms"),
        (1, "1s"),
        (0.1 + 0.2 + 0.7, "1s"),
        (1.5, "1.5s"),
        (12.345, "12.345s"),
        (59.6, "59.6s"),
        (60, "1m0s"),
        (90.25, "1m30.25s"),
        (360, "6m0s"),
        (3600, "1h0m0s"),
        (3725.5, "1h2m5.5s"),
    ],
)
def test_durations_read_like_openais(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_an_allowed_request_shows_both_windows() -> None:
    decision = RateDecision(
        True, None, None, None, RateWindow(60, 59, 1.0), RateWindow(150_000, 149_000, 0.4)
    )
    assert ratelimit_headers(decision) == {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-limit-tokens": "150000",
        "x-ratelimit-remaining-tokens": "149000",
        "x-ratelimit-reset-tokens": "400ms",
    }


def test_only_the_limited_measures_are_shown() -> None:
    tokens_only = RateDecision(True, None, None, None, None, RateWindow(1000, 0, 360.0))
    assert ratelimit_headers(tokens_only) == {
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    assert ratelimit_headers(RateDecision(True, None, None, None, None, None)) == {}


@pytest.mark.parametrize(
    ("retry_after", "seconds", "ms"),
    [(11.9, "12", "11900"), (12.0, "12", "12000"), (0.02, "1", "20"), (0.0001, "1", "1")],
)
def test_a_refusal_says_when_to_retry(retry_after: float, seconds: str, ms: str) -> None:
    window = RateWindow(5, 0, 60.0)
    refused = RateDecision(False, retry_after, "key:k1", "requests", window, None)
    headers = ratelimit_headers(refused)
    assert headers["Retry-After"] == seconds
    assert headers["retry-after-ms"] == ms
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "1m0s"


def test_no_retry_after_when_waiting_cannot_help() -> None:
    too_large = RateDecision(False, None, "key:k1", "tokens", None, RateWindow(100, 100, 0.0), True)
    headers = ratelimit_headers(too_large)
    assert "Retry-After" not in headers
    assert "retry-after-ms" not in headers
    assert headers["x-ratelimit-reset-tokens"] == "0s"
