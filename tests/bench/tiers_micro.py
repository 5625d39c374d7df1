"""What `auto`'s prompt classifier and a virtual model's choice cost, without the HTTP server
around them: microseconds per classification of a short, a medium and a long prompt, and per
resolution of `auto` and `cheap` among 30 models (the route step's whole extra work).

Usage: ``python -m tests.bench.tiers_micro [--repeat 7]``. Each figure is the best of REPEAT
runs of as many calls as fill about 0.2 s (the best run is the one the machine's other load
disturbed least); the median of the runs is printed beside it. The last row, `sum(range(1000))`,
is the same machine's speed at plain Python in the same run:
figures from a busy machine scale by it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import timeit
from collections.abc import Callable
from typing import Any

import msgspec

from application.billing.limits_cache import LimitsCache
from application.providers.latency import EwmaLatency
from domains.billing.limits import LimitsSnapshot
from domains.providers.complexity import RuleClassifier
from domains.shared.caller import Caller
from infrastructure.adapters.providers.factory import build_catalog
from infrastructure.settings import Settings
from interfaces.billing_wiring import config_prices
from interfaces.routing_wiring import build_virtual_models
from tests.bench.machine import machine

SHORT = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}
CODE = (
    "Review this Python class for bugs, then refactor it and write unit tests:\n"
    "```python\nclass Cache:\n    def get(self, key):\n        return self.items[key]\n```\n"
)
MEDIUM = {
    "messages": [
        {"role": "system", "content": "You are a careful senior engineer. " * 10},
        {"role": "user", "content": CODE * 8},  # ~1,500 characters
    ]
}
LONG = {  # 40 turns, ~100,000 characters, and tools
    "messages": [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 44,
        }
        for i in range(40)
    ]
    + [{"role": "user", "content": "Now prove step by step that the integral converges."}],
    "tools": [{"type": "function", "function": {"name": "search", "parameters": {}}}],
}


def settings_with_30_models() -> Settings:
    models = [
        {"name": f"m{i}", "price": {"input_per_mtok": f"{(i + 1) / 10}", "output_per_mtok": i + 1}}
        for i in range(30)
    ]
    return msgspec.convert(
        {
            "providers": [
                {
                    "name": "p",
                    "kind": "openai",
                    "base_url": "https://x.example/v1",
                    "models": models,
                }
            ],
            "routing": {"quality": {f"m{i}": i / 30 for i in range(30)}},
        },
        Settings,
    )


async def _nothing() -> LimitsSnapshot:
    return LimitsSnapshot()


def per_call_us(call: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(best, median) microseconds per call over `repeat` runs."""
    timer = timeit.Timer(call)
    number, _ = timer.autorange()
    number = max(number, int(number * 0.2 / max(timer.timeit(number), 1e-9)))
    runs = [timer.timeit(number) / number * 1e6 for _ in range(repeat)]
    return min(runs), statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    classifier = RuleClassifier()
    config = settings_with_30_models()
    latency = EwmaLatency()
    for i in range(0, 30, 2):
        latency.observe(f"p/m{i}", 100.0 + i)
    limits = LimitsCache(_nothing)  # the prices as the gateway reads them: billing's snapshot
    limits.snapshot = LimitsSnapshot.of(prices=config_prices(config))
    virtual = build_virtual_models(config, build_catalog(config.providers), latency, limits=limits)
    assert virtual is not None
    caller = Caller(key_id="k", key_prefix="fr-x", team_id="t", org_id="o")
    rows = [
        ("classify, short prompt (30 characters)", lambda: classifier.classify(SHORT)),
        ("classify, medium prompt (1,500 characters, code)", lambda: classifier.classify(MEDIUM)),
        (
            "classify, long prompt (100,000 characters, 41 turns, tools)",
            lambda: classifier.classify(LONG),
        ),
        ("resolve auto, short prompt, 30 models", lambda: virtual.resolve(caller, "auto", SHORT)),
        ("resolve auto, long prompt, 30 models", lambda: virtual.resolve(caller, "auto", LONG)),
        ("resolve cheap, 30 models", lambda: virtual.resolve(caller, "cheap", SHORT)),
        ("for scale: sum(range(1000))", lambda: sum(range(1000))),
    ]
    for name, body in (("short", SHORT), ("medium", MEDIUM), ("long", LONG)):
        classified = classifier.classify(body)
        print(f"# {name}: tier {classified.tier}, {classified.score} points")
    about = machine()
    load = os.getloadavg()
    print(
        f"# {about['cpu_model']}, {about['nproc']} cores, Python {about['python']}, "
        f"{about['date']}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print("| | best µs / call | median µs / call |")
    print("| --- | --: | --: |")
    started = time.perf_counter()
    for name, call in rows:
        best, median = per_call_us(call, args.repeat)
        print(f"| {name} | {best:.1f} | {median:.1f} |")
    print(f"# {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
