"""The analytics' latency histograms: fixed log-spaced buckets that merge by addition, and
percentiles read from them within the documented error."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from domains.billing import histogram


def test_bucket_edges_are_powers_of_two_to_the_quarter() -> None:
    assert histogram.bucket_of(0.2) == 0
    assert histogram.bucket_of(1.0) == 0
    assert histogram.bucket_of(1.01) == 1
    assert histogram.bucket_of(2**0.25) == 1
    assert histogram.bucket_of(2.0) == 4
    assert histogram.bucket_of(2.01) == 5
    assert histogram.bucket_of(1024.0) == 40
    assert histogram.bucket_of(1e12) == histogram.LAST
    assert histogram.bucket_of(float("nan")) == 0


def test_a_percentile_is_the_geometric_middle_of_the_bucket_of_its_rank() -> None:
    counts: histogram.Counts = {}
    for value in (100.0, 300.0):
        histogram.add(counts, value)
    # nearest rank: p50 is the 1st value (100 ms, bucket 27), p95 the 2nd (300 ms, bucket 33)
    assert histogram.percentile(counts, 0.50) == 2 ** (26.5 / 4)
    assert histogram.percentile(counts, 0.95) == 2 ** (32.5 / 4)
    assert histogram.percentile({}, 0.5) is None


def test_encoding_round_trips_and_leaves_empty_buckets_out() -> None:
    counts = {3: 2, 40: 1, 7: 0}
    text = histogram.encode(counts)
    assert text == '{"3":2,"40":1}'
    assert histogram.decode(text) == {3: 2, 40: 1}
    assert histogram.decode("") == {}


values = st.lists(st.floats(min_value=1.0, max_value=3_600_000.0), min_size=1, max_size=200)


@given(values, values)
def test_merging_two_histograms_is_the_histogram_of_both_value_lists(
    first: list[float], second: list[float]
) -> None:
    a: histogram.Counts = {}
    b: histogram.Counts = {}
    both: histogram.Counts = {}
    for v in first:
        histogram.add(a, v)
        histogram.add(both, v)
    for v in second:
        histogram.add(b, v)
        histogram.add(both, v)
    assert histogram.merge((a, b)) == both


@given(values, st.sampled_from([0.5, 0.9, 0.95, 0.99, 1.0]))
def test_percentiles_are_within_the_documented_relative_error(found: list[float], q: float) -> None:
    counts: histogram.Counts = {}
    for v in found:
        histogram.add(counts, v)
    exact = sorted(found)[max(1, math.ceil(q * len(found) - 1e-9)) - 1]
    estimate = histogram.percentile(counts, q)
    assert estimate is not None
    assert abs(estimate - exact) <= histogram.RELATIVE_ERROR * exact + 1e-9
