"""The outbox relay's retry schedule and what a dead letter keeps of an error."""

from __future__ import annotations

from infrastructure.messaging.delivery_errors import MESSAGE_CHARS, described
from infrastructure.messaging.retry_policy import RetryPolicy
from infrastructure.security.redaction import Redactor


def test_the_waits_double_up_to_the_cap_and_the_last_is_short() -> None:
    policy = RetryPolicy(max_retries=5, base_seconds=15, max_seconds=100)
    assert [policy.wait_after(retry) for retry in range(1, 6)] == [30, 60, 100, 100, 15]


def test_the_default_schedule_gives_up_about_eight_minutes_after_the_event() -> None:
    policy = RetryPolicy()
    tries = [policy.base_seconds]  # the first retry, after the event was written
    for retry in range(1, policy.max_retries):
        tries.append(tries[-1] + policy.wait_after(retry))
    given_up = tries[-1] + policy.wait_after(policy.max_retries)
    assert tries == [15, 45, 105, 225, 465]
    assert given_up == 480


def test_an_error_is_kept_without_secrets_and_short() -> None:
    redact = Redactor(["configured-secret-value"])
    error = ConnectionError(
        "redis://:hunter22@cache:6379 refused; key sk-abcdefghijklmnop; configured-secret-value "
        + "x" * 1000
    )
    error_class, message = described(error, redact)
    assert error_class == "ConnectionError"
    assert "hunter22" not in message
    assert "sk-abcdefghijklmnop" not in message
    assert "configured-secret-value" not in message
    assert message.startswith("redis://[redacted]@cache:6379 refused")
    assert len(message) == MESSAGE_CHARS
