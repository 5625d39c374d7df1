"""Benchmarks (`make bench`): the gateway against the fake upstream, measured with wrk.

Not part of the pytest suite: no module here is named ``test_*``.
"""
