"""The serving process's side: starts its accounting process and hands it batches of calls.

`handle` is the recorder's way out (`CompletionRecorder(handle)`): it sends one batch and returns
once the child has written it, or raises, and the recorder keeps the batch and tries again. A
child that went away is started again on the next batch. If it went away holding a batch, that
batch may have been written before it could answer: the next batch goes as `REPLAYED`, and the
child leaves out what the outbox already holds, so nothing is written twice.

The child ignores SIGINT and SIGTERM (a terminal's Ctrl-C or a service manager reaches the whole
process group): it stops when its input closes, after the batch under way, so the serving
process's last flush on shutdown still reaches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

import structlog

from application.conversations.commands import StoreResponse, StoreResponses
from application.providers.commands import RecordCompletions
from domains.shared.events import Command
from interfaces.accounting import frames

log = structlog.get_logger("fluxrouter.accounting")

START_TIMEOUT = 60.0
"""Seconds a child may take to start (imports, its database engine, the audit key)."""
STOP_TIMEOUT = 30.0
"""Seconds a child may take to finish its batch and stop once its input closes."""


class AccountingUnavailable(Exception):
    """The accounting process could not take the batch (not started, or gone): kept for later."""


class AccountingProcess:
    def __init__(self, argv: list[str] | None = None) -> None:
        self._argv = argv or [sys.executable, "-m", "interfaces.accounting.child"]
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()  # one frame and its answer at a time
        self._uncertain = False
        """A child went away holding a batch: the next one goes as a replay."""
        self._limits_changed = False
        """Limits or prices changed here: the next batch goes after a `LIMITS_CHANGED`."""
        self.started = 0
        """How many children were started (a restart counts)."""
        self._starting: asyncio.subprocess.Process | None = None
        """A child started and not ready yet."""
        self._stopping = False

    async def handle(self, command: Command) -> None:
        """Writes a batch of finished calls (`RecordCompletions`) or of stored responses
        (`StoreResponses`, or one `StoreResponse`) through the child; returns once it is
        written, raises `AccountingUnavailable` if it was not."""
        if isinstance(command, StoreResponse):
            command = StoreResponses(responses=[command])
        if isinstance(command, StoreResponses):
            async with self._lock:
                answer = await self._send(await self._running(), frames.responses_frame(command))
        elif isinstance(command, RecordCompletions):
            async with self._lock:
                proc = await self._running()
                replayed = self._uncertain or command.replayed
                kind = frames.REPLAYED if replayed else frames.COMPLETIONS
                answer = await self._send(proc, frames.frame(kind, command.completions))
                self._uncertain = False  # answered: the calls that went unanswered went again
        else:
            raise TypeError(f"the accounting process writes finished calls, not {command!r}")
        if answer != frames.WRITTEN:
            raise AccountingUnavailable("the accounting process could not write the batch")

    async def _send(self, proc: asyncio.subprocess.Process, data: bytes) -> bytes:
        """One frame to the child (after a `LIMITS_CHANGED` if the limits changed); its
        answer."""
        if self._limits_changed:
            self._limits_changed = False  # a child started anew loads them anyway
            data = frames.frame(frames.LIMITS_CHANGED) + data
        try:
            assert proc.stdin is not None
            assert proc.stdout is not None
            proc.stdin.write(data)
            await proc.stdin.drain()
            answer = await proc.stdout.readexactly(1)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            self._uncertain = True  # it may have written the batch it did not answer for
            await self._discard(proc)
            raise AccountingUnavailable("the accounting process went away") from error
        return answer

    def limits_changed(self) -> None:
        """The child reloads the limits and prices before its next batch (it prices calls).
        Said with that batch, never waited for here: the change's own transaction calls this,
        and a batch under way may be waiting for that transaction's database lock (SQLite)."""
        self._limits_changed = True

    @property
    def pid(self) -> int | None:
        """The running child's process id."""
        return self._proc.pid if self._proc is not None else None

    async def start(self) -> None:
        async with self._lock:
            await self._running()

    async def stop(self, *, wait: float = STOP_TIMEOUT) -> None:
        """Closes the child's input and waits `wait` seconds at most for it to finish the batch
        under way and stop, then ends it. With a spool, `wait` is short: a batch cut off is in
        the spool, replayed at the next start, so a database that does not answer does not
        hold the shutdown."""
        self._stopping = True
        try:
            await asyncio.wait_for(self._lock.acquire(), wait)
        except TimeoutError:  # a batch is under way and does not end: it is abandoned
            log.warning("accounting.batch_abandoned_at_stop")
            locked = False
            if self._starting is not None:  # it would only start to be stopped
                await _kill(self._starting)
        else:
            locked = True
        try:
            proc, self._proc = self._proc, None
            if proc is None or proc.returncode is not None:
                return
            assert proc.stdin is not None
            proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), wait if locked else 0.1)
            except TimeoutError:
                log.error("accounting.stop_timed_out", pid=proc.pid)
                await _kill(proc)
        finally:
            if locked:
                self._lock.release()

    async def _discard(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = None
        await _kill(proc)
        log.error("accounting.process_exited", pid=proc.pid, returncode=proc.returncode)

    async def _running(self) -> asyncio.subprocess.Process:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            return proc
        if proc is not None:  # it ended between two batches
            self._uncertain = True
            await self._discard(proc)
        if self._stopping:
            raise AccountingUnavailable("the accounting process is stopping")
        proc = await asyncio.create_subprocess_exec(
            *self._argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        self._starting = proc
        try:
            ready = await asyncio.wait_for(proc.stdout.readexactly(1), START_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError) as error:
            await _kill(proc)
            raise AccountingUnavailable(
                f"the accounting process did not start (exit code {proc.returncode})"
            ) from error
        except asyncio.CancelledError:  # stopped while it started
            await _kill(proc)
            raise
        finally:
            self._starting = None
        if ready != frames.READY:
            await _kill(proc)
            raise AccountingUnavailable("the accounting process answered before it was ready")
        self._proc = proc
        self.started += 1
        log.info("accounting.process_started", pid=proc.pid)
        return proc


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """Ends the child now (if it has not ended already) and reaps it."""
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    await proc.wait()
