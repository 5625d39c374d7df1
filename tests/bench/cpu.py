"""CPU time of a process tree, from /proc: the measure that other load on the machine skews least.

A request's cost is the CPU its server spent on it, including the work it causes after the
response (the recorder, the outbox, billing, audit): sample before the load starts, again once
the accounting has caught up, and divide by the requests served.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.processes import command, pids, stat

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_ticks(fields: list[str]) -> int:
    return int(fields[11]) + int(fields[12])  # utime, stime


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants (uvicorn's worker processes, a py-spy'd child...)."""
    children: dict[int, list[int]] = {}
    for one in pids():
        read = stat(one)
        if read is not None:
            children.setdefault(int(read[1][1]), []).append(one)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def named(pid: int, fragment: str) -> list[int]:
    """The processes of `pid`'s tree whose command line holds `fragment`."""
    return [one for one in tree(pid) if fragment.encode() in command(one)]


def seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its live descendants (0 for a gone process)."""
    stats = (stat(one) for one in tree(pid))
    return sum(_cpu_ticks(found[1]) for found in stats if found is not None) / _TICKS


def seconds_by_command(name: str) -> float:
    """User + system CPU seconds of every live process whose command name is `name` (the
    machine's PostgreSQL backends, its Redis server): the services a gateway's request uses."""
    stats = (stat(one) for one in pids())
    ticks = sum(_cpu_ticks(found[1]) for found in stats if found is not None and found[0] == name)
    return ticks / _TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of `pid` and its live descendants."""
    total = 0
    for one in tree(pid):
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total
