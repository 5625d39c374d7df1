"""Identifiers: time-ordered, URL-safe, 32 hex characters."""

from __future__ import annotations

import os
import time


def new_id() -> str:
    """A 128-bit id whose first 48 bits are the Unix time in milliseconds (sorts by creation)."""
    millis = time.time_ns() // 1_000_000
    return f"{millis:012x}{os.urandom(10).hex()}"
