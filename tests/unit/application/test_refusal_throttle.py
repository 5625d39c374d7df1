"""Refused credentials paced per client address: a burst, then a rate; other addresses and
quiet ones are not affected; the state stays bounded."""

from __future__ import annotations

from application.shared.refusal_throttle import RefusalThrottle
from tests.support.clock import FakeClock


def test_an_address_past_its_burst_waits_for_its_rate() -> None:
    clock = FakeClock(100.0)
    throttle = RefusalThrottle(per_second=2, burst=5, clock=clock)
    for _ in range(5):
        assert throttle.retry_after("10.0.0.1") is None
        throttle.refused("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 1
    assert throttle.retry_after("10.0.0.2") is None  # another address is not affected
    clock.now += 0.5  # one refusal's worth again
    assert throttle.retry_after("10.0.0.1") is None
    throttle.refused("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 1
    assert throttle.throttled == 2


def test_zero_burst_is_no_limit() -> None:
    throttle = RefusalThrottle(per_second=1, burst=0)
    for _ in range(1000):
        throttle.refused("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") is None


def test_the_addresses_held_are_bounded() -> None:
    clock = FakeClock(100.0)
    throttle = RefusalThrottle(per_second=1, burst=3, max_addresses=100, clock=clock)
    for i in range(10_000):
        throttle.refused(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert len(throttle._buckets) <= 100
    for _ in range(3):
        throttle.refused("192.0.2.1")
    assert throttle.retry_after("192.0.2.1") == 1  # the newest is kept
