"""Latency histograms that merge: fixed log-spaced buckets, four to each doubling.

Bucket 0 holds every value up to 1 ms; bucket `i > 0` the values in (2^((i-1)/4), 2^(i/4)] ms;
the last bucket (`LAST`, 2^(LAST/4) ms ≈ 4.7 hours) also holds everything above. Two histograms
merge by adding their counts bucket by bucket, so an hour's, a day's and a month's are sums of
the hours'. A percentile is the geometric middle of the bucket holding its rank: within
`RELATIVE_ERROR` (2^(1/8) − 1, about 9.05 %) of the true value at or above 1 ms, within 1 ms
below it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import msgspec

PER_DOUBLING = 4
LAST = 96
RELATIVE_ERROR = 2 ** (1 / (2 * PER_DOUBLING)) - 1

Counts = dict[int, int]


def bucket_of(value_ms: float) -> int:
    """The bucket that holds `value_ms`."""
    if not value_ms > 1.0:  # NaN and anything at or below 1 ms
        return 0
    index = math.ceil(math.log2(value_ms) * PER_DOUBLING - 1e-9)
    return min(max(index, 1), LAST)


def representative(index: int) -> float:
    """What a percentile landing in bucket `index` reads as: its geometric middle (1 ms for
    bucket 0)."""
    if index <= 0:
        return 1.0
    return 2 ** ((index - 0.5) / PER_DOUBLING)


def add(counts: Counts, value_ms: float, times: int = 1) -> None:
    index = bucket_of(value_ms)
    counts[index] = counts.get(index, 0) + times


def merge(histograms: Iterable[Mapping[int, int]]) -> Counts:
    total: Counts = {}
    for histogram in histograms:
        for index, count in histogram.items():
            total[index] = total.get(index, 0) + count
    return total


def percentile(counts: Mapping[int, int], q: float) -> float | None:
    """The `q` quantile (0 < q ≤ 1) by nearest rank: the representative of the bucket holding
    the ⌈q·n⌉-th smallest value; None for an empty histogram."""
    n = sum(counts.values())
    if n <= 0:
        return None
    rank = max(1, math.ceil(q * n - 1e-9))
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return representative(index)
    return representative(max(counts))


def encode(counts: Mapping[int, int]) -> str:
    """`{"index": count, ...}` in bucket order, empty buckets left out."""
    return msgspec.json.encode({str(i): counts[i] for i in sorted(counts) if counts[i]}).decode()


def decode(text: str | None) -> Counts:
    if not text:
        return {}
    return {int(i): int(c) for i, c in msgspec.json.decode(text).items()}
