"""`fluxrouter spool status`: the files in the accounting spool, and what each still holds."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from infrastructure.settings import Settings
from infrastructure.spool.reconcile import owed
from infrastructure.spool.records import Finished, Released, Started, read_lines
from infrastructure.spool.spool import SUFFIX


def spool_status(settings: Settings) -> int:
    directory = Path(settings.accounting.spool_dir)
    files = sorted(directory.glob(f"*{SUFFIX}")) if directory.is_dir() else []
    print(f"spool: {directory} ({len(files)} file(s))")
    for path in files:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # replayed or rotated meanwhile
            continue
        reading = read_lines(data)
        kinds = {kind: 0 for kind in (Started, Finished, Released)}
        for record in reading.records:
            kinds[type(record)] += 1
        under_way = len(owed(reading.records).reconciled)
        print(
            f"{path.name}  {_owner(path)}  {len(data)} bytes  "
            f"started {kinds[Started]}  finished {kinds[Finished]}  released {kinds[Released]}  "
            f"under way {under_way}  skipped lines {reading.skipped}"
        )
    return 0


def _owner(path: Path) -> str:
    """`running` while a process holds the file's lock, else `left` (replayed at the next start).
    The check takes a shared lock for an instant; a gateway starting in that instant leaves the
    file to its next start."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return "gone"
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return "running"
    finally:
        os.close(fd)  # lets go of the shared lock, if taken
    return "left"
