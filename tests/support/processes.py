"""Processes and their TCP connections, read from /proc (Linux): which `serve` worker holds
which connection."""

from __future__ import annotations

from pathlib import Path


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""


def spawned_workers(supervisor: int) -> list[int]:
    """The live worker processes uvicorn's supervisor spawned (not its resource tracker)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and _parent(proc) == supervisor:
            command = _command(int(proc.name))
            if b"spawn_main" in command and b"resource_tracker" not in command:
                found.append(int(proc.name))
    return sorted(found)


ESTABLISHED, LISTEN = "01", "0A"  # TCP states as /proc/net/tcp writes them


def _sockets(state: str, port: int | None = None) -> set[str]:
    """Inodes of TCP sockets in `state` (whose local port is `port`, if given)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == state and port in (None, local_port):
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
