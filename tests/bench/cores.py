"""A share of a core for each worker process: CPU cgroups that cap a worker and its children.

Scaling from 1 to 2 worker processes needs a core for each worker beyond what the load
generator, the upstream, PostgreSQL and Redis take. A machine without that many cores can still
show how the workers scale: cap each worker (with the accounting process it starts) at the same
share of a core, leave the rest of the machine to everything else, and compare 1 capped worker
with 2. The run records how idle the machine stayed, which shows the caps, not the machine,
were the limit.

Linux only, as root: cgroup v2 (`cpu.max`) when its `cpu` controller is on at the root, else
cgroup v1's `cpu` hierarchy (`cpu.cfs_quota_us`). `unavailable()` says why it can't be done.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from tests.bench import cpu
from tests.support.processes import spawned_workers

ROOT = Path("/sys/fs/cgroup")
V1 = ROOT / "cpu"
PERIOD_US = 100_000  # the kernel's default: shorter ones made capped runs vary more


def _v2() -> bool:
    controllers = ROOT / "cgroup.subtree_control"
    return controllers.is_file() and "cpu" in controllers.read_text().split()


def _hierarchy() -> Path | None:
    if _v2():
        return ROOT
    if (V1 / "cpu.cfs_quota_us").is_file():
        return V1
    return None


def unavailable() -> str | None:
    """Why worker processes can't be capped here, or None when they can."""
    where = _hierarchy()
    if where is None:
        return "no CPU cgroup controller (cgroup v2 `cpu` or v1 `cpu`) is mounted"
    if not os.access(where, os.W_OK):
        return f"cannot create CPU cgroups in {where} (needs root)"
    return None


def worker_processes(serve_pid: int, workers: int) -> list[int]:
    """The serving processes of `fluxrouter serve --workers N`: the command itself for one
    worker; for more, its children that uvicorn's supervisor spawned."""
    if workers == 1:
        return [serve_pid]
    spawned = spawned_workers(serve_pid)
    if len(spawned) != workers:
        raise RuntimeError(f"expected {workers} worker processes, found {spawned}")
    return spawned


def _limit(group: Path, cores: float) -> None:
    quota = max(int(cores * PERIOD_US), 1000)
    if group.parent == ROOT and _v2():
        (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
    else:
        (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(quota))


def _move(pids: list[int], group: Path) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # a process gone meanwhile
            (group / "cgroup.procs").write_text(str(pid))


def throttled(group: Path) -> tuple[int, int]:
    """How many of the group's scheduling periods so far it ran in, and in how many it used up
    its share (`nr_periods`, `nr_throttled`)."""
    stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
    return int(stat["nr_periods"]), int(stat["nr_throttled"])


@contextlib.contextmanager
def capped(workers: list[int], cores: float) -> Iterator[list[Path]]:
    """Each of `workers`, with its descendants (and any it starts later), in a cgroup of its
    own capped at `cores`; all moved back and the groups removed on leaving."""
    where = _hierarchy()
    if where is None:
        raise RuntimeError(unavailable())
    groups: list[Path] = []
    try:
        for worker in workers:
            group = where / f"fluxrouter-bench-{worker}"
            group.mkdir()
            groups.append(group)
            _limit(group, cores)
            _move(cpu.tree(worker), group)
        yield groups
    finally:
        for group in groups:
            _move([int(pid) for pid in (group / "cgroup.procs").read_text().split()], where)
            group.rmdir()
