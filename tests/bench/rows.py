"""Rows of a bench run at one load: wrk at a number of connections for a while after a warm-up,
each gateway row once the gateway's accounting caught up with the rows before it; then the rows
written as JSON and as a report."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench import backlog, machine
from tests.bench.loadgen import WrkResult, run_wrk, write_script, wrk_version
from tests.bench.targets import Target


class Rows:
    def __init__(
        self, wrk: str, workdir: Path, *, connections: int, duration: float, warmup: float
    ) -> None:
        self._wrk, self._workdir = wrk, workdir
        self._connections, self._duration, self._warmup = connections, duration, warmup
        self.rows: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.served: dict[str, int] = {}
        """Requests made through each gateway (by its target's name)."""

    def measure(
        self, what: str, url: str, sent: bytes, key: str, target: Target | None = None, **tags: Any
    ) -> WrkResult:
        """One row: `sent` with `key` to `url`; `target`, the gateway it goes through (its
        accounting caught up first); `tags`, kept in the row."""
        script = write_script(self._workdir / f"{len(self.rows)}.lua", sent, key)
        warm = run_wrk(
            self._wrk, url, script, connections=self._connections, duration_s=self._warmup
        )[0]
        if target is not None and target.database_url is not None:
            made = self.served.get(target.name, target.served_before) + warm.requests
            self.served[target.name] = made
            backlog.catch_up(target.database_url, made)
        result = run_wrk(
            self._wrk, url, script, connections=self._connections, duration_s=self._duration
        )[0]
        if target is not None:
            self.served[target.name] = self.served.get(target.name, 0) + result.requests
        if result.failures:
            self.failures.append(f"{what}: {result.failures} failed requests")
        self.rows.append({"what": what, **tags, **result.as_dict()})
        print(
            f"  {what:<62} {result.requests_per_s:>8.0f} req/s  p50 {result.p50_ms:>7.2f} ms"
            f"  p99 {result.p99_ms:>7.2f} ms",
            flush=True,
        )
        return result

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
