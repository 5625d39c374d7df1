"""The figures of a `make bench` run as PNG plots (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

MODES = {"plain": "plain chat", "stream": "streamed chat (20 chunks)"}


def _short(description: str) -> str:
    return description.replace("gateway, ", "").replace(" (Litestar+aiohttp)", "")


def _bars(ax: Any, labels: list[str], series: dict[str, list[float]], unit: str) -> None:
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
        bars = ax.bar(xs, values, width, label=name)
        ax.bar_label(
            bars,
            labels=[f"{v:,.2f}" if v < 10 else f"{v:,.0f}" for v in values],
            fontsize=7,
            padding=2,
        )
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel(unit)
    ax.legend(fontsize=8)


def latency(results: dict[str, Any], path: Path) -> Path:
    """p50 and p99 at 1 client, per target, plain and streamed (log scale)."""
    targets = results["targets"]
    labels = [_short(t["description"]) for t in targets.values()]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)
    for ax, (mode, title) in zip(axes, MODES.items(), strict=True):
        series = {p: [t[mode]["c1"][f"{p}_ms"] for t in targets.values()] for p in ("p50", "p99")}
        _bars(ax, labels, series, "ms (log scale)")
        ax.set_title(f"Latency at 1 client, {title}")
    fig.suptitle(f"FluxRouter bench, {results['machine']['date']}", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def throughput(results: dict[str, Any], path: Path) -> Path:
    """Requests per second at 32 clients, per target, plain and streamed (log scale)."""
    targets = results["targets"]
    labels = [_short(t["description"]) for t in targets.values()]
    fig, ax = plt.subplots(figsize=(13, 5), constrained_layout=True)
    series = {
        title: [t[mode]["c32"]["requests_per_s"] for t in targets.values()]
        for mode, title in MODES.items()
    }
    _bars(ax, labels, series, "requests/s (log scale)")
    ax.set_title("Throughput at 32 clients")
    fig.suptitle(f"FluxRouter bench, {results['machine']['date']}", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ttfb(results: dict[str, Any], path: Path) -> Path | None:
    """Time to the first SSE event of a stream, 1 client, per target."""
    found = results.get("ttfb") or {}
    if not found:
        return None
    targets = results["targets"]
    names = [name for name in targets if name in found]
    labels = [_short(targets[name]["description"]) for name in names]
    series = {p: [found[name][f"first_event_{p}_ms"] for name in names] for p in ("p50", "p99")}
    fig, ax = plt.subplots(figsize=(11, 4.5), constrained_layout=True)
    _bars(ax, labels, series, "ms (log scale)")
    ax.set_title("Time to the first streamed event, 1 client")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_all(results: dict[str, Any], out_dir: Path) -> list[Path]:
    made = [
        latency(results, out_dir / "latency.png"),
        throughput(results, out_dir / "throughput.png"),
        ttfb(results, out_dir / "ttfb.png"),
    ]
    return [path for path in made if path is not None]
