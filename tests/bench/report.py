"""The derived figures, and docs/benchmarks/{results.json,README.md}."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MODES = {
    "plain": "Plain chat (`stream: false`)",
    "stream": "Streaming chat (`stream: true`, 20 content chunks)",
}
DIRECT, BARE, LITELLM = "upstream", "bare", "litellm"
# The goals of a gateway with every feature on, against the bare pass-through and the upstream.
GOAL_RATIO_VS_BARE = 0.6
GOAL_ADDED_P50_MS = 1.0
GOAL_ADDED_P99_MS = 5.0
GOAL_ADDED_TTFB_MS = 1.0
# Near-linear: two worker processes, each with the same share of a core, serve at least this
# many times what one does.
GOAL_SCALING = 1.8


def derive(targets: dict[str, Any]) -> dict[str, Any]:
    """Added latency vs the direct upstream (1 client); throughput vs bare and vs LiteLLM (32
    clients); for a gateway of several workers, its throughput vs the same shape's one."""
    out: dict[str, Any] = {}
    for name, target in targets.items():
        if name == DIRECT:
            continue
        per_mode: dict[str, Any] = {}
        for mode in MODES:
            one, direct = target[mode]["c1"], targets[DIRECT][mode]["c1"]
            many, bare = target[mode]["c32"], targets[BARE][mode]["c32"]
            figures = {
                "added_p50_ms": round(one["p50_ms"] - direct["p50_ms"], 3),
                "added_p99_ms": round(one["p99_ms"] - direct["p99_ms"], 3),
                "throughput_ratio_vs_bare": round(
                    many["requests_per_s"] / bare["requests_per_s"], 3
                ),
            }
            if LITELLM in targets and name != LITELLM:
                litellm = targets[LITELLM][mode]
                figures["throughput_ratio_vs_litellm"] = round(
                    many["requests_per_s"] / litellm["c32"]["requests_per_s"], 1
                )
                figures["p50_ratio_litellm_vs_this"] = round(
                    litellm["c1"]["p50_ms"] / one["p50_ms"], 1
                )
            single = _one_worker(name)
            if single in targets:
                figures["throughput_vs_1_worker"] = round(
                    many["requests_per_s"] / targets[single][mode]["c32"]["requests_per_s"], 2
                )
            per_mode[mode] = figures
        out[name] = per_mode
    return out


def _one_worker(name: str) -> str | None:
    """For a target of several workers (`gateway-postgres-2w`), the same shape's with one."""
    return name.rsplit("-", 1)[0] if name.endswith("w") else None


def capped_requests_per_s(entry: dict[str, Any], mode: str) -> float:
    """A target's mean requests/s over its capped runs."""
    runs = entry["runs"]
    return float(sum(run[mode]["wrk"]["requests_per_s"] for run in runs)) / len(runs)


def capped_scaling(capped: dict[str, Any]) -> dict[str, Any]:
    """For each shape measured capped with 1 and with 2 workers: 2 workers' mean requests/s over
    1 worker's, per mode."""
    out: dict[str, Any] = {}
    for name, entry in capped.items():
        single = _one_worker(name)
        if single in capped:
            out[name] = {
                mode: round(
                    capped_requests_per_s(entry, mode)
                    / capped_requests_per_s(capped[single], mode),
                    2,
                )
                for mode in MODES
            }
    return out


def _capped_table(results: dict[str, Any]) -> list[str]:
    capped, scaling = results.get("capped") or {}, results.get("capped_scaling") or {}
    if not capped:
        return []
    first = next(iter(capped.values()))
    each, clients = first["cores_each"], first["clients"]
    lines = [
        "## A share of a core for each worker",
        "",
        "Scaling from 1 to 2 worker processes needs a core for each worker beyond what wrk, the",
        "upstream, PostgreSQL and Redis take; with fewer cores than that, the uncapped runs",
        "above measure the machine. So each worker process (with its accounting process) is",
        f"also measured capped at {each:g} of a core by a CPU cgroup (`tests/bench/cores.py`),",
        f"{clients} clients (`wrk -t2 -c{clients}`), after a warm-up: the same share for every",
        "worker, the rest of the machine for everything else. A capped worker waits out the",
        "rest of each 100 ms period and serves what came meanwhile together, so it needs more",
        "clients than a free one to stay busy. Capped runs vary more than free ones: both",
        f"gateways run {len(first['runs'])} rounds in turn, 1 worker then 2, and the ratio is",
        "of their means.",
        "*Machine busy* is all CPUs during the run (below 100 %: the caps, not the machine,",
        "were the limit); *held back* is the share of scheduling periods in which a worker",
        "used up its share; *connections* is how the kernel spread wrk's connections over the",
        "workers (`SO_REUSEPORT`, `interfaces/http/reuse_port.py`).",
        "",
        "| Target | mode | round | req/s | vs 1 worker (means) | machine busy "
        "| held back, by worker | connections, by worker |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for name, entry in capped.items():
        for mode in MODES:
            ratio = scaling.get(name, {}).get(mode)
            for number, runs in enumerate(entry["runs"], 1):
                run = runs[mode]
                lines.append(
                    f"| {results['targets'][name]['description']} | {mode} | {number} "
                    f"| {run['wrk']['requests_per_s']:,.0f} "
                    f"| {f'{ratio:.2f}×' if ratio is not None and number == 1 else ''} "
                    f"| {run['machine_busy_pct']:.0f} % "
                    f"| {', '.join(f'{held:.0f} %' for held in run['throttled_pct_by_worker'])} "
                    f"| {' / '.join(str(held) for held in run['connections_by_worker'])} |"
                )
    return [*lines, ""]


def tables(targets: dict[str, Any], derived: dict[str, Any]) -> str:
    blocks = []
    for mode, title in MODES.items():
        rows = [
            f"### {title}",
            "",
            "| Target | 1 client p50 | 1 client p99 | 1 client req/s "
            "| 32 clients req/s | 32 clients p50 | 32 clients p99 | server CPU / request "
            "| Added p50 / p99 vs direct (1 client) | req/s vs bare (32 clients) |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for name, target in targets.items():
            one, many = target[mode]["c1"], target[mode]["c32"]
            extra = derived.get(name, {}).get(mode)
            added = (
                f"{extra['added_p50_ms']:+.2f} / {extra['added_p99_ms']:+.2f} ms" if extra else "—"
            )
            ratio = f"{extra['throughput_ratio_vs_bare']:.2f}×" if extra else "—"
            cpu = f"{many['cpu_us']:,.0f} µs" if "cpu_us" in many else "—"
            rows.append(
                f"| {target['description']} | {_ms(one['p50_ms'])} | {_ms(one['p99_ms'])} "
                f"| {one['requests_per_s']:,.0f} | {many['requests_per_s']:,.0f} "
                f"| {_ms(many['p50_ms'])} | {_ms(many['p99_ms'])} | {cpu} | {added} | {ratio} |"
            )
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks) + "\n"


def _ms(value: float) -> str:
    return f"{value:.2f} ms"


def headline(results: dict[str, Any]) -> list[str]:
    """One line per gateway shape: the ratios the README quotes, and the goals met or not."""
    derived, targets = results["derived"], results["targets"]
    lines = []
    for name, per_mode in derived.items():
        if not name.startswith("gateway"):
            continue
        plain, stream = per_mode["plain"], per_mode["stream"]
        text = (
            f"* **{targets[name]['description']}**: {plain['throughput_ratio_vs_bare']:.2f}× "
            f"the bare pass-through's requests/s plain, {stream['throughput_ratio_vs_bare']:.2f}× "
            f"streamed (goal ≥ {GOAL_RATIO_VS_BARE}×); adds {plain['added_p50_ms']:+.2f} ms p50 "
            f"/ {plain['added_p99_ms']:+.2f} ms p99 at 1 client (goal ≤ {GOAL_ADDED_P50_MS:g} / "
            f"≤ {GOAL_ADDED_P99_MS:g} ms)"
        )
        if "throughput_ratio_vs_litellm" in plain:
            text += (
                f"; {plain['throughput_ratio_vs_litellm']:,.0f}× LiteLLM's requests/s, "
                f"{plain['p50_ratio_litellm_vs_this']:,.0f}× lower p50"
            )
        if "throughput_vs_1_worker" in plain:
            text += (
                f"; 2 workers give {plain['throughput_vs_1_worker']:.2f}× one worker's "
                f"requests/s plain, {stream['throughput_vs_1_worker']:.2f}× streamed"
            )
        added = results.get("ttfb_added", {}).get(name)
        if added:
            text += (
                f"; time to the first streamed event {added['added_first_event_p50_ms']:+.2f} ms "
                f"p50 over direct (goal ≤ {GOAL_ADDED_TTFB_MS:g} ms)"
            )
        lines.append(text + ".")
    for name, ratios in (results.get("capped_scaling") or {}).items():
        each = results["capped"][name]["cores_each"]
        lines.append(
            f"* **{results['capped'][name]['workers']} worker processes, each capped at {each:g}"
            f" of a core**: {ratios['plain']:.2f}× one capped worker's requests/s plain, "
            f"{ratios['stream']:.2f}× streamed (goal ≥ {GOAL_SCALING:g}×)."
        )
    return lines


def _ttfb_table(results: dict[str, Any]) -> list[str]:
    found, added = results.get("ttfb") or {}, results.get("ttfb_added") or {}
    if not found:
        return []
    lines = [
        "## Time to first byte of a stream",
        "",
        "One client, one keep-alive connection, streamed chats one after the other",
        f"({next(iter(found.values()))['requests']} after a warm-up; `tests/bench/ttfb.py`):",
        "the time to the response's headers and to its first SSE `data:` event. *Added* =",
        "target minus the upstream called directly.",
        "",
        "| Target | headers p50 | headers p99 | first event p50 | first event p99 "
        "| added first event p50 / p99 |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name, figures in found.items():
        extra = added.get(name)
        shown = (
            f"{extra['added_first_event_p50_ms']:+.2f} / "
            f"{extra['added_first_event_p99_ms']:+.2f} ms"
            if extra
            else "—"
        )
        lines.append(
            f"| {results['targets'][name]['description']} | {_ms(figures['headers_p50_ms'])} "
            f"| {_ms(figures['headers_p99_ms'])} | {_ms(figures['first_event_p50_ms'])} "
            f"| {_ms(figures['first_event_p99_ms'])} | {shown} |"
        )
    return [*lines, ""]


def write(out_dir: Path, results: dict[str, Any]) -> str:
    """Writes results.json and README.md into `out_dir` (overwriting); returns the tables."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = tables(results["targets"], results["derived"])
    (out_dir / "README.md").write_text(_readme(results, table))
    return table


def _readme(results: dict[str, Any], table: str) -> str:
    m, run = results["machine"], results["run"]
    failures = results["failures"]
    versions = results.get("versions", {})
    lines = [
        "# FluxRouter benchmarks",
        "",
        "Generated by `make bench` (`.venv/bin/python -m tests.bench.run`); every run overwrites",
        "this file, [`results.json`](results.json) (raw numbers) and the plots. Do not edit by",
        "hand. Where a request's CPU goes is written up in [profile.md](profile.md); what the",
        "budget and rate-limit checks add, in [limits.md](limits.md); memory over a long run, in",
        "[memory.md](memory.md) (`make bench-memory`); how long each command takes to start, in",
        "[cold-start.md](cold-start.md); a change measured against the code before it, in the",
        "same run, in [one-pipeline.md](one-pipeline.md) (`python -m tests.bench.against`).",
        "",
        "## Headline",
        "",
        *headline(results),
        "",
        "![latency at 1 client](latency.png)",
        "",
        "![throughput at 32 clients](throughput.png)",
        "",
        "## What is measured",
        "",
        "All on 127.0.0.1, all calling the same fake OpenAI upstream",
        "(`tests/fakes/openai_upstream/`, its own process):",
        "",
        "* **fake upstream, direct**: wrk talks to the fake itself; the floor.",
        "* **bare pass-through**: `tests/bench/bare_proxy.py`, Litestar on uvicorn (uvloop,",
        "  httptools, one worker) forwarding the request bytes with one shared aiohttp session",
        "  and streaming the SSE back: no auth, no accounting. The yardstick.",
        "* **LiteLLM proxy** (when installed: `$LITELLM_BIN` or `.bench-venvs/litellm`, made by",
        "  `make bench-litellm-venv`): its default configuration, one process, a master key, no",
        "  database, offline (`LITELLM_LOCAL_MODEL_COST_MAP=True`).",
        "* **gateway, embedded SQLite**: `fluxrouter serve`, no Redis (projections in-process).",
        "* **gateway, PostgreSQL + Redis**: `fluxrouter serve` plus a `fluxrouter worker`",
        "  process; once with one worker process, once with `--workers 2`.",
        "",
        "Every gateway request goes through a virtual key with every limit on: a US-dollar",
        "budget for the month on its org, its team and the key, a token budget for the day on",
        "the key, rpm and tpm limits on the key and the team (all too large to refuse). So each",
        "request is authenticated, its prompt counted, its rate limits taken and its largest",
        "cost reserved (one Redis script, or in process without Redis), settled after the",
        "response, recorded as a usage event (outbox, billing, audit chain), counted in the",
        "metrics and logged (one JSON access-log line).",
        "",
        f"Load: {run['wrk']}, `POST /v1/chat/completions` with a 19-word user message to",
        "`gpt-4o-mini` (the reply is 20 words; streamed as 20 content chunks). 1 client =",
        f"`wrk -t1 -c1`, 32 clients = `wrk -t2 -c32`, {run['duration_s']:g} s each after a",
        "warm-up run. Latency is wrk's time to the full response. *Added* latency = target minus",
        "direct upstream at 1 client; *req/s vs bare* = target throughput / bare pass-through",
        "throughput at 32 clients. *Server CPU / request*: user + system CPU of the target's",
        "processes (the gateway's worker process included) during the 32-client run, divided by",
        "the requests it served: the figure other load on the machine skews least. Each mode",
        "runs warm-up (32 clients), 1 client, 32 clients; for the gateway the 1-client run",
        "starts only once its accounting has caught up with the warm-up (see *Accounting lag*).",
        "",
        "## Results",
        "",
        table,
        *_ttfb_table(results),
        "![time to the first streamed event](ttfb.png)",
        "",
        *_capped_table(results),
    ]
    for note in results.get("notes", []):
        lines += [f"**Note:** {note}", ""]
    lines += [
        "## Machine and versions",
        "",
        f"* CPUs (`nproc`): {m['nproc']}, {m['cpu_model']}",
        f"* Memory: {m['memory_gib']} GiB",
        f"* Python {m['python']}, Linux {m['kernel']}",
        f"* Date: {m['date']}",
        f"* Command: `{run['command']}` ({run['wall_s']:.0f} s wall time for this run)",
        "* Versions: " + ", ".join(f"{name} {version}" for name, version in versions.items()),
        "* CPU busy just before each target was measured, once below 10 % or after a minute",
        "  (servers idle; anything above a few percent is other work on the machine): "
        + ", ".join(f"{n} {t['cpu_busy_before_pct']}%" for n, t in results["targets"].items()),
        "",
        "wrk, the fake upstream and the server under test share the same cores (and, for the",
        "gateway, PostgreSQL, Redis and the worker too), so absolute numbers are low and",
        "somewhat noisy; compare rows within one run, and CPU per request across runs.",
        "",
    ]
    lines += _backlog(results.get("accounting_backlog", {}))
    if failures:
        lines += ["## ⚠ Failed requests", "", "This run saw failed requests (must be 0):", ""]
        lines += [f"* {f}" for f in failures] + [""]
    logs = {k: v for k, v in results["server_log_problems"].items() if v}
    if logs:
        lines += ["## Warnings and errors logged by the servers", ""]
        for name, entries in logs.items():
            lines += [f"**{name}**", "", "```"]
            lines += [f"{e['count']:>6} × {e['summary']}" for e in entries] + ["```", ""]
        lines += ["First full line of each in `results.json` (`server_log_problems`).", ""]
        if "upstream" in logs:
            lines += [
                "On the fake upstream, `Cannot write to closing transport` means a client closed",
                "its connection before the reply was written (wrk stops with requests in flight);",
                "it is harmless.",
                "",
            ]
    return "\n".join(lines)


def _backlog(accounting: dict[str, Any]) -> list[str]:
    if not accounting:
        return []
    lines = [
        "## Accounting lag",
        "",
        "The gateway records finished calls after the response (in-memory queue, outbox, then",
        "billing and audit). Right after the last wrk run of each shape, the bench compares the",
        "`usage_records` rows with the requests wrk saw completed (all runs, warm-ups included),",
        "then waits up to 180 s for the gateway to catch up.",
        "",
        "| Target | Requests served | Usage records when the load stopped "
        "| Outbox pending then | Caught up after |",
        "|---|--:|--:|--:|--:|",
    ]
    for name, seen in accounting.items():
        caught = (
            f"{seen['catch_up_s']:.1f} s"
            if seen["caught_up"]
            else f"not after {seen['catch_up_s']:.0f} s ({seen['usage_records_final']:,} records)"
        )
        lines.append(
            f"| {name} | {seen['requests_served']:,} | {seen['usage_records_when_load_stopped']:,} "
            f"| {seen['outbox_pending_when_load_stopped']:,} | {caught} |"
        )
    return [*lines, ""]
