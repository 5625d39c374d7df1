"""CPU time of a process tree, from /proc: the measure that other load on the machine skews least.

A request's cost is the CPU its server spent on it, including the work it causes after the
response (the recorder, the outbox, billing, audit): sample before the load starts, again once
the accounting has caught up, and divide by the requests served.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(proc: Path) -> tuple[str, list[str]] | None:
    """A process's command name and the fields after it in `/proc/PID/stat` (state first);
    None for a process that is gone."""
    try:
        head, tail = (proc / "stat").read_text().rsplit(")", 1)
    except (OSError, ValueError):
        return None
    return head.split("(", 1)[-1], tail.split()


def _cpu_ticks(fields: list[str]) -> int:
    return int(fields[11]) + int(fields[12])  # utime, stime


def _processes() -> list[Path]:
    return [entry for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants (uvicorn's worker processes, a py-spy'd child...)."""
    children: dict[int, list[int]] = {}
    for entry in _processes():
        stat = _stat(entry)
        if stat is not None:
            children.setdefault(int(stat[1][1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def named(pid: int, fragment: str) -> list[int]:
    """The processes of `pid`'s tree whose command line holds `fragment`."""
    found = []
    for one in tree(pid):
        try:
            command = Path(f"/proc/{one}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if fragment.encode() in command:
            found.append(one)
    return found


def seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and its live descendants (0 for a gone process)."""
    stats = (_stat(Path(f"/proc/{one}")) for one in tree(pid))
    return sum(_cpu_ticks(stat[1]) for stat in stats if stat is not None) / _TICKS


def seconds_by_command(command: str) -> float:
    """User + system CPU seconds of every live process whose command name is `command` (the
    machine's PostgreSQL backends, its Redis server): the services a gateway's request uses."""
    stats = (_stat(entry) for entry in _processes())
    ticks = sum(_cpu_ticks(stat[1]) for stat in stats if stat is not None and stat[0] == command)
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
