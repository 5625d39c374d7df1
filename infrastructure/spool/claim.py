"""Claiming the files dead processes left in the spool directory, each exactly once.

A file whose `flock` can be taken belongs to no live process (its owner holds it for its whole
life). The claimer keeps the lock while it reads the file and replays it, and deletes it before
letting go, so a second claimer either fails to take the lock or, having waited for it, finds that
its path now names no file (or another one) and leaves it. Files being created are hidden until
their owner has locked them (`spool.create_locked`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path

from infrastructure.spool.records import Record, read_lines
from infrastructure.spool.spool import SUFFIX


@dataclass
class Claimed:
    """Files this process holds the lock of, and what they hold."""

    files: list[tuple[Path, int]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    skipped: int = 0

    def done(self) -> None:
        """Deletes the files (their calls are journaled elsewhere now) and lets go of them."""
        for path, fd in self.files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            os.close(fd)
        self.files.clear()

    def let_go(self) -> None:
        """Lets go of the files, left for another start."""
        for _, fd in self.files:
            os.close(fd)
        self.files.clear()


def claim(directory: Path, *, own: Path | None = None) -> Claimed:
    """Every file in `directory` no live process holds (`own`, this process's, left out),
    locked, in the order they were created, with their records."""
    claimed = Claimed()
    if not directory.is_dir():
        return claimed
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        if path == own:
            continue
        fd = _take(path)
        if fd is None:
            continue
        with os.fdopen(os.dup(fd), "rb") as file:
            reading = read_lines(file.read())
        claimed.files.append((path, fd))
        claimed.records.extend(reading.records)
        claimed.skipped += reading.skipped
    return claimed


def _take(path: Path) -> int | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # its process lives (or another claims it now)
        os.close(fd)
        return None
    try:
        same = os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        same = False
    if not same:  # replayed and deleted by whoever held it before us
        os.close(fd)
        return None
    return fd
