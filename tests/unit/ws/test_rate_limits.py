"""The `rate_limits` of the WebSocket protocol's messages: the `x-ratelimit-*` headers /v1 would
send, exactly, and nothing else; left out of a message when there are none."""

from __future__ import annotations

import json

from application.billing.rate_headers import ratelimit_headers
from domains.billing.rate_limit import RateDecision, RateWindow
from domains.shared.errors import LimitExceeded, NotFound
from interfaces.ws.errors import error_out
from interfaces.ws.messages import (
    ChatCancelled,
    ChatDone,
    PromptTokensDetails,
    UsageOut,
    encode,
    rate_limits_of,
)

FIGURES = {
    "x-ratelimit-limit-requests": "60",
    "x-ratelimit-remaining-requests": "0",
    "x-ratelimit-reset-requests": "1s",
    "x-ratelimit-limit-tokens": "100000",
    "x-ratelimit-remaining-tokens": "99950",
    "x-ratelimit-reset-tokens": "30ms",
}


def test_the_x_ratelimit_headers_are_kept_as_they_are_and_nothing_else() -> None:
    headers = {**FIGURES, "Retry-After": "1", "retry-after-ms": "1000", "x-should-retry": "true"}
    assert rate_limits_of(headers) == FIGURES


def test_headers_without_rate_limits_are_none() -> None:
    assert rate_limits_of({}) is None
    assert rate_limits_of({"Retry-After": "3600", "x-should-retry": "false"}) is None


def test_the_headers_of_a_rate_decision_are_all_rate_limits_but_the_retry() -> None:
    window = RateWindow(limit=5, remaining=0, reset_seconds=12.0)
    refused = RateDecision(
        allowed=False,
        retry_after=12.0,
        refused_by="key:k1",
        measure="requests",
        requests=window,
        tokens=None,
    )
    headers = ratelimit_headers(refused)
    assert rate_limits_of(headers) == {
        "x-ratelimit-limit-requests": "5",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "12s",
    }


def test_a_rate_limit_refusal_is_an_error_with_its_figures_and_when_to_retry() -> None:
    refusal = LimitExceeded(
        "Rate limit reached for requests per minute on this key. Try again in 2 s.",
        code="rate_limit_exceeded",
        error_type="requests",
        headers={**FIGURES, "Retry-After": "2", "retry-after-ms": "1500"},
    )
    message = json.loads(encode(error_out(refusal, "g1")))
    assert message["status"] == 429
    assert message["error"]["code"] == "rate_limit_exceeded"
    assert message["retry_after"] == 2
    assert message["rate_limits"] == FIGURES


def test_an_error_without_rate_limits_has_no_rate_limits_field() -> None:
    budget = LimitExceeded(
        "Budget exceeded.",
        code="budget_exceeded",
        error_type="insufficient_quota",
        headers={"Retry-After": "3600"},
        retryable=False,
    )
    spent = json.loads(encode(error_out(budget, "g1")))
    assert spent["retry_after"] == 3600
    assert "rate_limits" not in spent
    assert "rate_limits" not in json.loads(encode(error_out(NotFound("no such model"), "g2")))


def test_done_and_cancelled_leave_rate_limits_out_when_there_are_none() -> None:
    usage = UsageOut(1, 2, 3, PromptTokensDetails(0), estimated=False)
    for limits in (None, FIGURES):
        done = json.loads(encode(ChatDone("g", "stop", usage, "r", rate_limits=limits)))
        cancelled = json.loads(encode(ChatCancelled("g", usage, "r", rate_limits=limits)))
        assert done.get("rate_limits") == cancelled.get("rate_limits") == limits
        assert ("rate_limits" in done) is (limits is not None)
