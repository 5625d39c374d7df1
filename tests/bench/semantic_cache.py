"""The semantic cache on a paraphrase set: hit rate, false-hit rate and lookup latency per
threshold, and the default threshold chosen from them.

`python -m tests.bench.semantic_cache` (writes docs/benchmarks/semantic-cache.md, its JSON and
its plot).

The pairs (`tests/bench/data/semantic_pairs.json`, built by `tests.bench.semantic_pairs`): each
**paraphrase** pair should share an answer, each **near-miss** pair must not. Both questions of
a pair go through the gateway's own rules (`question_of`: the compared text, the partition with
the numbers asked) and model (`StaticModel`); a pair is a hit at a threshold when both fall in
the same partition and their cosine reaches it. The hit rate is over the paraphrases, the
false-hit rate over the near misses.

The latency is a whole semantic lookup of a miss, as the pipeline makes it after the exact
cache missed (`ResponseCache.find`: the exact store's read, the rules, the embedding, the
nearest of the partition's vectors), in a partition holding `--entries` stored questions (the
benchmark's, then made-up ones): what the semantic cache adds to a request it does not answer.

The default threshold: a false hit (a wrong answer served as right) is worse than a miss (an
upstream call that was needed anyway): the default is the lowest threshold whose false-hit
rate is at most `--max-false-hits` (0.5 %), i.e. the most hits for at most one wrong answer in
two hundred near misses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

from application.providers.completions.cache import ResponseCache, SemanticCache
from application.providers.completions.request import CompletionRequest
from domains.providers.model import ModelRoute
from domains.providers.response_cache import CachePolicy
from domains.providers.semantic_cache import question_of
from domains.shared.caller import Caller
from infrastructure.cache.memory_store import MemoryCacheStore
from infrastructure.cache.semantic_memory import MemorySemanticIndex
from infrastructure.embeddings.static_model import MODEL, StaticEmbedder, StaticModel, load
from tests.bench.machine import machine

PAIRS = Path(__file__).parent / "data" / "semantic_pairs.json"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks"
THRESHOLDS = [round(0.80 + 0.01 * step, 2) for step in range(20)]
ROUTE = ModelRoute(provider="openai", kind="openai", name="gpt-4o-mini", upstream="gpt-4o-mini")
CALLER = Caller(key_id="key-1", key_prefix="fr", team_id="team-1", org_id="org-1")


def body(question: str) -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You answer briefly."},
            {"role": "user", "content": question},
        ],
        "temperature": 0,
    }


def similarity_of(model: StaticModel, first: str, second: str) -> float | None:
    """The pair's cosine, or None when the rules never compare them (another partition)."""
    found = [
        question_of(
            scope="org-1/team-1",
            kind="chat",
            model="gpt-4o-mini",
            body=body(question),
            stream=False,
            include_usage=False,
        )
        for question in (first, second)
    ]
    a, b = found
    if a is None or b is None or a.partition != b.partition:
        return None
    return float(model.array(a.text) @ model.array(b.text))


def rates(similarities: list[float | None], threshold: float) -> float:
    hits = sum(1 for s in similarities if s is not None and s >= threshold - 1e-9)
    return hits / len(similarities)


async def lookups(questions: list[str], threshold: float, entries: int, rounds: int) -> list[float]:
    """The milliseconds of each semantic lookup of a miss, in a partition of `entries`."""
    import numpy as np  # (loaded by the index's module first: BLAS on one thread, as served)

    index = MemorySemanticIndex(entries + 10, entries + 10)
    semantic = SemanticCache(index=index, embedder=StaticEmbedder(), threshold=threshold)
    cache = ResponseCache(
        MemoryCacheStore(1 << 26), semantic=semantic, default=CachePolicy(semantic=True)
    )
    rng = np.random.default_rng(27)
    partition = ""
    for number, question in enumerate(questions[:entries]):
        lookup = cache.consider(request(question), ROUTE, None)
        assert lookup.question is not None
        partition = lookup.question.partition
        vector = await StaticEmbedder().embed(lookup.question.text)
        await index.add(partition, vector, f"stored-{number}", 3600)
    for number in range(len(questions), entries):  # made-up questions to fill the partition
        made_up = rng.standard_normal(256).astype(np.float32)
        made_up /= np.linalg.norm(made_up)
        await index.add(partition, made_up.tobytes(), f"made-up-{number}", 3600)
    taken = []
    for _ in range(rounds):
        for question in questions:
            asked = request(question + " please")  # never stored: the exact cache misses
            started = time.perf_counter()
            lookup = cache.consider(asked, ROUTE, None)
            await cache.find(lookup)
            taken.append((time.perf_counter() - started) * 1000)
    return taken


def request(question: str) -> CompletionRequest:
    return CompletionRequest(
        caller=CALLER, request_id="r", model="gpt-4o-mini", body=body(question)
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--max-false-hits", type=float, default=0.005)
    parser.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args()

    pairs = json.loads(PAIRS.read_text())
    started = time.perf_counter()
    model = load()
    load_seconds = time.perf_counter() - started
    paraphrases = [similarity_of(model, a, b) for _, a, b in pairs["paraphrases"]]
    near = [similarity_of(model, a, b) for _, a, b in pairs["near_misses"]]
    questions = [a for _, a, _ in pairs["paraphrases"]] + [a for _, a, _ in pairs["near_misses"]]
    random.Random(27).shuffle(questions)
    rows = []
    for threshold in THRESHOLDS:
        taken = asyncio.run(lookups(questions, threshold, args.entries, args.rounds))
        rows.append(
            {
                "threshold": threshold,
                "hit_rate": round(rates(paraphrases, threshold), 4),
                "false_hit_rate": round(rates(near, threshold), 4),
                "lookup_p50_ms": round(statistics.median(taken), 3),
                "lookup_p99_ms": round(percentile(taken, 0.99), 3),
            }
        )
    allowed = [row for row in rows if row["false_hit_rate"] <= args.max_false_hits]
    chosen = allowed[0]["threshold"] if allowed else THRESHOLDS[-1]
    at_default = next(row for row in rows if row["threshold"] == chosen)
    categories: dict[str, list[float | None]] = {}
    for (kind, _, _), found in zip(pairs["near_misses"], near, strict=True):
        categories.setdefault(kind, []).append(found)
    false_by_kind = {
        kind: {"pairs": len(found), "false_hits": sum(1 for s in found if s and s >= chosen)}
        for kind, found in sorted(categories.items())
    }
    results = {
        "model": MODEL,
        "model_load_seconds": round(load_seconds, 3),
        "paraphrase_pairs": len(paraphrases),
        "near_miss_pairs": len(near),
        "never_compared_near_misses": sum(1 for s in near if s is None),
        "entries_in_partition": args.entries,
        "max_false_hit_rate": args.max_false_hits,
        "default_threshold": chosen,
        "at_default": at_default,
        "false_hits_by_kind_at_default": false_by_kind,
        "rows": rows,
        # (`nproc` reads OMP_NUM_THREADS, which the index's module sets to 1)
        "machine": {**machine(), "nproc": len(os.sched_getaffinity(0))},
        "load_average": round(os.getloadavg()[0], 2),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "semantic-cache.json").write_text(json.dumps(results, indent=2) + "\n")
    plot(rows, chosen, args.out / "semantic-cache.png")
    (args.out / "semantic-cache.md").write_text(markdown(results))
    print(json.dumps({k: v for k, v in results.items() if k not in ("rows", "machine")}, indent=2))


def plot(rows: list[dict[str, Any]], chosen: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [row["threshold"] for row in rows]
    fig, ax = plt.subplots(figsize=(9, 4), constrained_layout=True)
    ax.plot(x, [100 * row["hit_rate"] for row in rows], marker=".", label="hit rate (paraphrases)")
    ax.plot(
        x,
        [100 * row["false_hit_rate"] for row in rows],
        marker=".",
        label="false-hit rate (near misses)",
    )
    ax.axvline(chosen, color="grey", linestyle="--", label=f"default {chosen:.2f}")
    ax.set_xlabel("similarity threshold (cosine)")
    ax.set_ylabel("% of pairs answered from the cache")
    ax.set_ylim(0, 100)
    ax.set_title(f"Semantic cache: {MODEL} on the paraphrase set")
    ax.legend()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: dict[str, Any]) -> str:
    m, d = results["machine"], results["at_default"]
    lines = [
        "# Semantic cache: hit rate, false-hit rate and latency per threshold",
        "",
        "Generated by `python -m tests.bench.semantic_cache`; every run overwrites this file,",
        "[`semantic-cache.json`](semantic-cache.json) and the plot. Do not edit by hand.",
        "",
        f"Model `{results['model']}` (loaded in {results['model_load_seconds']} s, once per "
        f"process). {results['paraphrase_pairs']} paraphrase pairs that should share an answer "
        f"and {results['near_miss_pairs']} near-miss pairs that must not "
        "([`semantic_pairs.json`](../../tests/bench/data/semantic_pairs.json)); "
        f"{results['never_compared_near_misses']} near misses differ in the numbers they ask "
        "and are never compared. A lookup is a semantic lookup of a miss in a partition of "
        f"{results['entries_in_partition']:,} stored questions.",
        "",
        f"**Default threshold: {results['default_threshold']:.2f}**: the lowest whose false-hit "
        f"rate is at most {100 * results['max_false_hit_rate']:.1f} % (a false hit is worse "
        f"than a miss). At it: hit rate {100 * d['hit_rate']:.1f} %, false-hit rate "
        f"{100 * d['false_hit_rate']:.2f} %, lookup p50 {d['lookup_p50_ms']} ms, p99 "
        f"{d['lookup_p99_ms']} ms.",
        "",
        "![hit and false-hit rates per threshold](semantic-cache.png)",
        "",
        "| threshold | hit rate | false-hit rate | lookup p50 (ms) | lookup p99 (ms) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in results["rows"]:
        mark = " **(default)**" if row["threshold"] == results["default_threshold"] else ""
        lines.append(
            f"| {row['threshold']:.2f}{mark} | {100 * row['hit_rate']:.1f} % | "
            f"{100 * row['false_hit_rate']:.2f} % | {row['lookup_p50_ms']} | "
            f"{row['lookup_p99_ms']} |"
        )
    lines += [
        "",
        "False hits at the default, by kind of near miss:",
        "",
        "| kind | pairs | false hits |",
        "| --- | --- | --- |",
    ]
    for kind, found in results["false_hits_by_kind_at_default"].items():
        lines.append(f"| {kind} | {found['pairs']} | {found['false_hits']} |")
    lines += [
        "",
        f"Machine: {m.get('cpu_model', 'unknown')}, {m.get('nproc')} CPUs; load average "
        f"{results['load_average']} while it ran (a p99 on a machine busy with other work "
        "measures its scheduler more than the lookup).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
