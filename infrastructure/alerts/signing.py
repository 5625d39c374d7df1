"""The `X-FluxRouter-Signature` header: HMAC-SHA256 over `<timestamp>.<body>` with the
webhook's secret, as `t=<unix seconds>,v1=<hex digest>` (the scheme Stripe's receivers know)."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-FluxRouter-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` keyed with `secret`."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver checks: the header's timestamp is within `tolerance` seconds of `now`
    and one of its `v1` signatures is the body's (compared in constant time)."""
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for key, value in parts if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value) for key, value in parts if key == "v1")
