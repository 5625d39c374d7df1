"""The live spool of one serving process: every served call on disk before it is forgotten.

Each serving process appends to a file of its own in the spool directory, named for when it was
opened and its process id (`<ns>-<pid>.spool`), and holds an exclusive `flock` on it while it
lives: the lock is what tells a live process's file from one a dead process left (the kernel lets
go of it however the process ends, `kill -9` included). A file is created under a hidden name,
locked, then renamed into view, so no other process can claim it in between.

A record is handed to the operating system with one `write` as the call is recorded (a few
microseconds; it survives the process being killed) and made durable by one `fsync` every
`fsync_every` seconds, in a thread, never on the request's path (what a power cut can lose).

The file only grows while the database has not taken what it holds. Once the recorder has
written everything (`settled`) and the file is past `segment_bytes`, a fresh one takes over,
holding only the calls still under way, and the old one is deleted. At a clean stop with nothing
left to write, the file is deleted; otherwise it stays for the next start to replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import structlog

from application.shared.tasks import cancel_and_wait
from domains.providers.events import CompletionFinished
from infrastructure.spool.records import Finished, Released, Started, line

if TYPE_CHECKING:
    from application.providers.call import Call

log = structlog.get_logger("fluxrouter.spool")

SUFFIX = ".spool"
WRITE_ERROR_LOG_EVERY = 10.0
"""Seconds between two `spool.write_failed` errors while the disk refuses writes."""


class SpoolCounts(msgspec.Struct, kw_only=True):
    started: int = 0
    finished: int = 0
    released: int = 0
    write_failures: int = 0
    fsyncs: int = 0
    replayed: int = 0
    """Finished calls read back from the files dead processes left."""
    reconciled: int = 0
    """Started calls those files never finished, charged their reservation."""
    skipped: int = 0
    """Lines of those files cut short or corrupt."""


def segment_name(pid: int, clock_ns: int) -> str:
    return f"{clock_ns:020d}-{pid}{SUFFIX}"


def create_locked(directory: Path, name: str) -> int:
    """A new, empty file `name` in `directory`, locked by this process before anyone can see it."""
    hidden = directory / f".{name}.new"
    fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.rename(hidden, directory / name)
    return fd


class FileSpool:
    def __init__(
        self,
        directory: Path,
        *,
        fsync_every: float = 0.02,
        segment_bytes: int = 16 * 2**20,
    ) -> None:
        self.directory = directory
        self._fsync_every = fsync_every
        self._segment_bytes = segment_bytes
        self._fd = -1
        self._path: Path | None = None
        self._size = 0
        self._dirty = False
        self._open: dict[str, bytes] = {}
        """The `Started` lines of the calls under way, by call id (carried into a new file)."""
        self._syncing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._next_error_log = 0.0
        self.counts = SpoolCounts()

    @property
    def path(self) -> Path | None:
        """This process's file."""
        return self._path

    @property
    def open_calls(self) -> int:
        return len(self._open)

    @property
    def size(self) -> int:
        return self._size

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._fd, self._path = self._new_file()
        self._size = 0

    def _new_file(self) -> tuple[int, Path]:
        name = segment_name(os.getpid(), time.time_ns())
        return create_locked(self.directory, name), self.directory / name

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="spool-fsync")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._fsync_every)
            await self.sync()

    # the hot path: one write each, no fsync

    def started(self, call: Call, input_tokens: int, output_tokens: int) -> None:
        call_id = call.event_id
        if call_id is None:
            return
        caller, route = call.caller, call.route
        data = line(
            Started(
                call_id=call_id,
                request_id=call.request_id,
                endpoint=call.endpoint,
                key_id=caller.key_id,
                team_id=caller.team_id,
                org_id=caller.org_id,
                user_id=caller.user_id,
                provider=route.provider,
                model=route.name,
                upstream_model=route.upstream,
                stream=call.stream,
                transport=call.transport,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                at=datetime.now(UTC),
            )
        )
        self._open[call_id] = data
        self.counts.started += 1
        self._write(data)

    def finished(self, event: CompletionFinished) -> None:
        if event.bodies is not None:  # bodies never reach the disk unscrubbed (nor bloat it)
            event = msgspec.structs.replace(event, bodies=None)
        self._open.pop(event.event_id, None)
        self.counts.finished += 1
        self._write(line(Finished(event=event)))

    def released(self, call_id: str) -> None:
        if self._open.pop(call_id, None) is None:
            return  # not journaled as started: nothing to close
        self.counts.released += 1
        self._write(line(Released(call_id=call_id)))

    def _write(self, data: bytes) -> None:
        try:
            written = os.write(self._fd, data)
            if written != len(data):  # a full disk: the rest will not fit either
                raise OSError(f"short write: {written} of {len(data)} bytes")
        except OSError as error:
            self.counts.write_failures += 1
            now = time.monotonic()
            if now >= self._next_error_log:
                self._next_error_log = now + WRITE_ERROR_LOG_EVERY
                log.error(
                    "spool.write_failed", error=str(error), failures=self.counts.write_failures
                )
            return
        self._size += len(data)
        self._dirty = True

    async def sync(self) -> None:
        if not self._dirty or self._fd < 0:
            return
        async with self._syncing:
            self._dirty = False
            try:
                await asyncio.to_thread(os.fsync, self._fd)
            except OSError as error:
                self._dirty = True
                log.error("spool.fsync_failed", error=str(error))
                return
            self.counts.fsyncs += 1

    async def settled(self) -> None:
        """Everything finished so far is in the database: past `segment_bytes`, a new file
        with only the calls under way takes over, and the old one goes."""
        if self._size < self._segment_bytes or self._fd < 0:
            return
        old_fd, old_path = self._fd, self._path
        try:
            fd, path = self._new_file()
        except OSError as error:
            log.error("spool.rotate_failed", error=str(error))
            return
        self._fd, self._path, self._size = fd, path, 0
        carried = b"".join(self._open.values())
        if carried:
            self._write(carried)
        async with self._syncing:
            await asyncio.to_thread(os.fsync, fd)
            self.counts.fsyncs += 1
            if old_path is not None:
                with contextlib.suppress(FileNotFoundError):
                    old_path.unlink()
            os.close(old_fd)
        log.info("spool.rotated", file=path.name, carried=len(self._open))

    async def close(self, *, settled: bool) -> None:
        """Stops: the file on disk, then deleted if nothing in it is owed any more (`settled`:
        the recorder wrote everything, and no call is under way), else left to be replayed."""
        await cancel_and_wait(self._task)
        self._task = None
        if self._fd < 0:
            return
        self._dirty = True
        await self.sync()
        path, fd = self._path, self._fd
        self._fd, self._path = -1, None
        if settled and not self._open and path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        elif path is not None:
            log.warning("spool.left_for_replay", file=path.name, open_calls=len(self._open))
        os.close(fd)  # lets go of the lock
