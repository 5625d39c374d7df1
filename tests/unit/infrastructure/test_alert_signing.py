"""Signing an alert (what a receiver verifies), the retries' backoff, and the bodies sent."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domains.billing.events import BudgetThresholdCrossed
from domains.providers.events import DeploymentCircuitOpened
from infrastructure.alerts.backoff import retry_delay, retryable
from infrastructure.alerts.payloads import body, summary
from infrastructure.alerts.signing import signature_header, verify

BODY = b'{"type":"budget.threshold_crossed"}'


def test_the_signature_is_the_hmac_of_the_timestamp_and_the_body() -> None:
    header = signature_header("s3cret", 1_700_000_000, BODY)
    expected = hmac.new(b"s3cret", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_a_receiver_accepts_only_the_right_secret_body_and_time() -> None:
    header = signature_header("s3cret", 1_700_000_000, BODY)
    assert verify("s3cret", header, BODY, now=1_700_000_100)
    assert not verify("other", header, BODY, now=1_700_000_100)
    assert not verify("s3cret", header, BODY + b" ", now=1_700_000_100)
    assert not verify("s3cret", header, BODY, now=1_700_000_301)  # too old: a replay
    assert not verify(
        "s3cret", header.replace("t=1700000000", "t=1700000001"), BODY, now=1_700_000_000
    )
    assert not verify("s3cret", "v1=abc", BODY, now=1_700_000_000)
    assert not verify("s3cret", "", BODY, now=1_700_000_000)


def test_retries_wait_twice_as_long_each_time_up_to_the_most() -> None:
    waits = [retry_delay(attempt, base=2.0, most=30.0) for attempt in range(1, 7)]
    assert waits == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert retry_delay(500, base=2.0, most=600.0) == 600.0
    with pytest.raises(ValueError, match="from 1"):
        retry_delay(0, base=1.0, most=1.0)


@pytest.mark.parametrize(
    ("status", "again"),
    [(None, True), (429, True), (500, True), (503, True), (400, False), (404, False), (410, False)],
)
def test_no_answer_429_and_5xx_are_retried_other_answers_are_not(
    status: int | None, again: bool
) -> None:
    assert retryable(status) is again


CROSSED = BudgetThresholdCrossed(
    scope="team",
    scope_id="team-1",
    period="month",
    window="team:team-1:month:2026-12",
    measure="usd",
    percent=80,
    spent="8.000000",
    limit="10.000000",
)


def test_the_json_body_carries_the_delivery_the_event_and_its_data() -> None:
    sent = json.loads(body(CROSSED, "d-1", "json"))
    assert (sent["id"], sent["type"], sent["event_id"]) == (
        "d-1",
        "budget.threshold_crossed",
        CROSSED.event_id,
    )
    assert sent["data"] == {
        "scope": "team",
        "scope_id": "team-1",
        "period": "month",
        "window": "team:team-1:month:2026-12",
        "measure": "usd",
        "percent": 80,
        "spent": "8.000000",
        "limit": "10.000000",
    }
    assert sent["summary"] == summary(CROSSED)


def test_the_slack_body_is_one_line_of_text() -> None:
    sent = json.loads(body(CROSSED, "d-1", "slack"))
    assert sent == {
        "text": "FluxRouter: the month budget of team team-1 crossed 80% (8.000000 of "
        "10.000000 USD spent, window team:team-1:month:2026-12)"
    }
    opened = DeploymentCircuitOpened(
        deployment="openai/gpt-4o",
        provider="openai",
        model="gpt-4o",
        reason="error_rate",
        consecutive_failures=1,
        calls=40,
        failures=25,
        cooldown_seconds=30.0,
    )
    assert "25 of 40 calls failed" in json.loads(body(opened, "d-2", "slack"))["text"]
    assert Decimal(json.loads(body(CROSSED, "d-1", "json"))["data"]["limit"]) == 10


def test_the_receivers_check_in_docs_alerts_md_accepts_what_is_signed() -> None:
    text = (Path(__file__).resolve().parents[3] / "docs" / "alerts.md").read_text()
    found = re.search(r"```python\n(.*?)```", text, re.S)
    assert found is not None
    scope: dict[str, Any] = {}
    exec(found.group(1), scope)  # the example as a reader copies it
    now = int(time.time())
    header = signature_header("s3cret", now, BODY)
    assert scope["verified"]("s3cret", header, BODY)
    assert not scope["verified"]("s3cret", header, BODY + b"x")
    assert not scope["verified"]("other", header, BODY)
    assert not scope["verified"]("s3cret", signature_header("s3cret", now - 3600, BODY), BODY)
