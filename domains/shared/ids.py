"""Identifiers: time-ordered, URL-safe, 32 hex characters."""

from __future__ import annotations

import os
import random
import time

_bits = random.Random()  # seeded from os.urandom; ids are unique, not secret
os.register_at_fork(after_in_child=_bits.seed)  # a forked child must not repeat its parent's


def new_id() -> str:
    """A 128-bit id whose first 48 bits are the Unix time in milliseconds (sorts by creation)
    and whose other 80 are random."""
    return f"{time.time_ns() // 1_000_000:012x}{_bits.getrandbits(80):020x}"
