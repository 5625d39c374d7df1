"""What one serving process counts against its connection caps: per address (an IPv6 client by
its /64, an IPv4-mapped one as its IPv4 address), not at all for a trusted proxy, and the cap
lowered to what the open-files limit leaves."""

from __future__ import annotations

import json

from infrastructure.settings import Settings
from infrastructure.settings.model import DatabaseSettings, ServerSettings
from interfaces.http.connection_limits import (
    FD_RESERVE,
    SERVER_FULL,
    TIMED_OUT,
    TOO_MANY_FROM_ADDRESS,
    ConnectionLimits,
    connection_cap,
)


def limits(most: int = 10, per_address: int = 2, proxies: tuple[str, ...] = ()) -> ConnectionLimits:
    return ConnectionLimits(
        max_connections=most,
        per_address=per_address,
        header_timeout=1.0,
        body_timeout=1.0,
        trusted_proxies=proxies,
    )


def test_one_address_is_refused_past_its_cap_and_let_in_once_one_closes() -> None:
    counts = limits()
    first, second = counts.admit("192.0.2.1"), counts.admit("192.0.2.1")
    assert counts.admit("192.0.2.1") is TOO_MANY_FROM_ADDRESS
    assert counts.admit("192.0.2.2") == "192.0.2.2"  # another address is let in
    counts.release(first)  # type: ignore[arg-type]
    assert counts.admit("192.0.2.1") == "192.0.2.1"
    assert (counts.open, counts.refused_per_address) == (3, 1)
    for key in (second, "192.0.2.1", "192.0.2.2"):
        counts.release(key)  # type: ignore[arg-type]
    assert counts.open == 0
    assert counts.by_address == {}


def test_the_process_is_refused_past_its_cap() -> None:
    counts = limits(most=3, per_address=3)
    for host in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        assert isinstance(counts.admit(host), str)
    assert counts.admit("192.0.2.4") is SERVER_FULL
    assert counts.refused_busy == 1


def test_an_ipv6_client_is_counted_by_its_slash_64() -> None:
    counts = limits()
    one = counts.admit("2001:db8:1:2::1")
    two = counts.admit("2001:db8:1:2:ffff::9")
    assert one == two
    assert counts.admit("2001:db8:1:2::77") is TOO_MANY_FROM_ADDRESS
    assert isinstance(counts.admit("2001:db8:1:3::1"), str)  # another /64
    assert counts.admit("::ffff:192.0.2.7") == "192.0.2.7"


def test_a_trusted_proxy_is_not_counted_per_address() -> None:
    counts = limits(per_address=1, proxies=("10.0.0.0/8",))
    assert [counts.admit("10.1.2.3") for _ in range(5)] == [None] * 5
    assert counts.open == 5
    assert counts.admit("192.0.2.1") == "192.0.2.1"
    assert counts.admit("192.0.2.1") is TOO_MANY_FROM_ADDRESS
    assert counts.admit(None) is None  # a Unix socket: no address


def test_the_answers_are_whole_responses_that_close() -> None:
    for answer, status, code in (
        (TOO_MANY_FROM_ADDRESS, 429, "too_many_connections"),
        (SERVER_FULL, 503, "too_many_connections"),
        (TIMED_OUT, 408, "request_timeout"),
    ):
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(f"HTTP/1.1 {status} ".encode())
        assert b"connection: close" in head
        assert f"content-length: {len(body)}".encode() in head
        error = json.loads(body)
        assert error["type"] == "error"
        assert error["error"]["code"] == code


def test_the_cap_is_lowered_to_what_the_open_files_limit_leaves() -> None:
    settings = Settings(
        server=ServerSettings(max_connections=10000), database=DatabaseSettings(pool_size=10)
    )
    assert connection_cap(settings, None) == 10000
    assert connection_cap(settings, 1_000_000) == 10000
    assert connection_cap(settings, 4096) == 4096 - FD_RESERVE - 10
    assert connection_cap(settings, 100) == 1
