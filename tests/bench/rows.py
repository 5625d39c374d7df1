"""Rows of a bench run at one load: wrk at a number of connections for a while after a warm-up,
each gateway row once the gateway's accounting caught up with the rows before it; then the rows
written as JSON and as a report.

A row measured `against` the bare pass-through is measured in `slices` turns: each turn the
bare pass-through, then the row, for a slice of the row's time each, once the gateway's
accounting caught up. The row keeps the bare pass-through's requests/s of its own turns
(`bare_requests_per_s`): a ratio of the two compares requests, not moments of a machine whose
speed drifts by half within minutes."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench import backlog, machine
from tests.bench.loadgen import WrkResult, run_wrk, write_script, wrk_version
from tests.bench.targets import Target


class Rows:
    def __init__(
        self,
        wrk: str,
        workdir: Path,
        *,
        connections: int,
        duration: float,
        warmup: float,
        slices: int = 3,
    ) -> None:
        self._wrk, self._workdir = wrk, workdir
        self._connections, self._duration, self._warmup = connections, duration, warmup
        self.slices = slices
        self.rows: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.served: dict[str, int] = {}
        """Requests made through each gateway (by its target's name)."""

    def measure(
        self,
        what: str,
        url: str,
        sent: bytes,
        key: str,
        target: Target | None = None,
        *,
        against: tuple[str, bytes] | None = None,
        **tags: Any,
    ) -> WrkResult:
        """One row: `sent` with `key` to `url`; `target`, the gateway it goes through (its
        accounting caught up first); `against`, the bare pass-through's (url, body) to measure
        in turn with it; `tags`, kept in the row."""
        script = write_script(self._workdir / f"{len(self.rows)}.lua", sent, key)
        warm = run_wrk(
            self._wrk, url, script, connections=self._connections, duration_s=self._warmup
        )[0]
        self._count(target, warm.requests)
        if against is None:
            self._caught_up(target)
            result = self._wrk_run(url, script, self._duration)
            self._count(target, result.requests)
        else:
            bare_script = write_script(
                self._workdir / f"{len(self.rows)}-bare.lua", against[1], "unused"
            )
            each = max(1.0, round(self._duration / self.slices))  # wrk takes whole seconds
            turns, bare_turns = [], []
            for _ in range(self.slices):
                self._caught_up(target)
                bare_turns.append(self._wrk_run(against[0], bare_script, each))
                turns.append(self._wrk_run(url, script, each))
                self._count(target, turns[-1].requests)
            result = combined(turns)
            tags["bare_requests_per_s"] = combined(bare_turns).requests_per_s
            tags["turns"] = [
                [b.requests_per_s, t.requests_per_s] for b, t in zip(bare_turns, turns, strict=True)
            ]
        if result.failures:
            self.failures.append(f"{what}: {result.failures} failed requests")
        self.rows.append({"what": what, **tags, **result.as_dict()})
        paired = ""
        if "bare_requests_per_s" in tags:
            paired = f"  {result.requests_per_s / max(tags['bare_requests_per_s'], 1e-9):.2f}× bare"
        print(
            f"  {what:<62} {result.requests_per_s:>8.0f} req/s  p50 {result.p50_ms:>7.2f} ms"
            f"  p99 {result.p99_ms:>7.2f} ms{paired}",
            flush=True,
        )
        return result

    def _wrk_run(self, url: str, script: Path, seconds: float) -> WrkResult:
        return run_wrk(self._wrk, url, script, connections=self._connections, duration_s=seconds)[0]

    def _count(self, target: Target | None, requests: int) -> None:
        if target is not None:
            self.served[target.name] = self.served.get(target.name, target.served_before) + requests

    def _caught_up(self, target: Target | None) -> None:
        if target is not None and target.database_url is not None:
            backlog.catch_up(target.database_url, self.served[target.name])

    def write(
        self,
        out: Path,
        name: str,
        *,
        command: str,
        duration: float,
        report: Callable[[dict[str, Any]], str],
        **extra: Any,
    ) -> int:
        """`name`.json (the rows, the run, the machine and `extra`) and `name`.md (`report` of
        them) in `out`; the failures said; the exit status: 1 if any."""
        results = {
            "run": {"command": command, "duration_s": duration, "wrk": wrk_version(self._wrk)},
            "machine": machine.machine(),
            "rows": self.rows,
            **extra,
        }
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
        (out / f"{name}.md").write_text(report(results))
        for failure in self.failures:
            print(f"bench: {failure}", file=sys.stderr)
        return 1 if self.failures else 0


def ratio_table(results: dict[str, Any]) -> list[str]:
    """The rows as a table against the bare pass-through, plain rows against its plain row and
    streamed ones (named `... streamed`) against its streamed row, or each against its own
    turns."""
    lines = [
        "| what | req/s | × bare | p50 ms | p99 ms | failed |",
        "| --- | --: | --: | --: | --: | --: |",
    ]
    bare = {
        row["what"].endswith("streamed"): row["requests_per_s"]
        for row in results["rows"]
        if row["what"].startswith("bare")
    }
    for row in results["rows"]:
        failed = row["non_2xx"] + sum(row["socket_errors"].values())
        found = ratio_of(row, bare.get(row["what"].endswith("streamed")))
        ratio = f"{found:.2f}×" if found else "—"
        lines.append(
            f"| {row['what']} | {row['requests_per_s']:,.0f} | {ratio} | {row['p50_ms']:.2f} |"
            f" {row['p99_ms']:.2f} | {failed} |"
        )
    return lines


def footer(results: dict[str, Any]) -> list[str]:
    """The last lines of a report: the command that made it, and the machine it ran on."""
    run, box = results["run"], results["machine"]
    return [
        f"Command: `{run['command']}` ({run['wrk']}).",
        f"Machine: {box['nproc']} CPUs ({box['cpu_model']}), {box['memory_gib']} GiB,"
        f" Python {box['python']}, {box['date']}. The machine is shared: other work may skew",
        "the figures.",
        "",
    ]


def combined(turns: list[WrkResult]) -> WrkResult:
    """Turns of one row as one result: requests and time added, the median turn's latencies."""
    seconds = sum(turn.duration_s for turn in turns)
    requests = sum(turn.requests for turn in turns)
    errors: dict[str, int] = {}
    for turn in turns:
        for name, count in turn.socket_errors.items():
            errors[name] = errors.get(name, 0) + count
    return WrkResult(
        connections=turns[0].connections,
        threads=turns[0].threads,
        duration_s=seconds,
        requests=requests,
        requests_per_s=requests / seconds if seconds else 0.0,
        p50_ms=statistics.median(turn.p50_ms for turn in turns),
        p99_ms=statistics.median(turn.p99_ms for turn in turns),
        non_2xx=sum(turn.non_2xx for turn in turns),
        socket_errors=errors,
    )


def ratio_of(row: dict[str, Any], bare: float | None) -> float | None:
    """A row's requests/s over the bare pass-through's: of its own turns when it was measured
    against it, else of the bare row given."""
    base = row.get("bare_requests_per_s") or bare
    return row["requests_per_s"] / base if base else None
