"""Processes and their TCP connections, read from /proc (Linux): which `serve` worker holds
which connection."""

from __future__ import annotations

from pathlib import Path


def stat(pid: int | str) -> tuple[str, list[str]] | None:
    """A process's command name and the fields after it in `/proc/PID/stat` (state first,
    parent second); None for a process that is gone."""
    try:
        head, tail = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
    except (OSError, ValueError):
        return None
    return head.split("(", 1)[-1], tail.split()


def pids() -> list[int]:
    """Every live process."""
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def command(pid: int) -> bytes:
    """A process's command line, its arguments joined by spaces (empty for one gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie, ended but not yet reaped, does not)."""
    found = stat(pid)
    return found is not None and found[1][0] != "Z"


def spawned_workers(supervisor: int) -> list[int]:
    """The live worker processes uvicorn's supervisor spawned (not its resource tracker)."""
    found = []
    for pid in pids():
        found_stat = stat(pid)
        if found_stat is not None and int(found_stat[1][1]) == supervisor:
            line = command(pid)
            if b"spawn_main" in line and b"resource_tracker" not in line:
                found.append(pid)
    return sorted(found)


def serving_workers(supervisor: int, workers: int, port: int) -> list[int] | None:
    """The supervisor's `workers` spawned workers once each listens on `port` (each does once
    its app has started), else None."""
    spawned = spawned_workers(supervisor)
    if len(spawned) == workers and all(listens(pid, port) for pid in spawned):
        return spawned
    return None


ESTABLISHED, LISTEN = "01", "0A"  # TCP states as /proc/net/tcp writes them


def _sockets(state: str, port: int) -> set[str]:
    """Inodes of TCP sockets in `state` whose local port is `port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == state and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _held(pid: int) -> list[str]:
    """Inodes of the sockets among `pid`'s descriptors."""
    held = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            held.append(target[8:-1])
    return held


def connections_by_process(port: int, pids: list[int]) -> dict[int, int]:
    """How many established connections to `port` each of `pids` holds."""
    inodes = _sockets(ESTABLISHED, port)
    return {pid: sum(1 for inode in _held(pid) if inode in inodes) for pid in pids}


def listens(pid: int, port: int) -> bool:
    """Whether `pid` holds a socket listening on `port`."""
    return bool(_sockets(LISTEN, port).intersection(_held(pid)))
