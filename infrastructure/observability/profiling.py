"""An opt-in profiler for finding where a serving process spends its CPU.

With `FLUXROUTER_PROFILE=/path/prefix` set, each serving process runs under cProfile from the
moment its app is built and writes `/path/prefix.<pid>.prof` when the app shuts down (read it
with `python -m pstats`; `python -m tests.bench.profile --cprofile` does it all). cProfile about
doubles the
CPU a request costs, evenly enough that the shares stay meaningful. Unset, nothing is loaded.
"""

from __future__ import annotations

import os
from collections.abc import Callable

ENV = "FLUXROUTER_PROFILE"


def profile_from_env() -> Callable[..., None] | None:
    """Starts profiling if asked; returns what writes the stats (a shutdown hook), else None."""
    prefix = os.environ.get(ENV)
    if not prefix:
        return None
    import cProfile

    profiler = cProfile.Profile()

    def dump(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(f"{prefix}.{os.getpid()}.prof")

    profiler.enable()
    return dump
