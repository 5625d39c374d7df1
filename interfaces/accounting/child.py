"""The accounting process: `python -m interfaces.accounting.child`, started by a serving process.

It reads batches of finished calls on its input and writes each as the serving process would
have (`RecordCompletions` through the bus: outbox, usage and audit rows, in one transaction),
and batches of the responses `/v1/responses` stores (`StoreResponses`), and
it runs what follows from those rows: the outbox relay's hand-off to the projections, the audit
checkpoint writer and, in the embedded shape, the projection worker. Its settings are the serving
process's (the same environment and configuration file), its parts only what it uses
(`composition`); it answers on a copy of its standard
output, which then points at standard error, where its log lines go.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import structlog

from application.conversations.commands import StoreResponses
from application.providers.commands import RecordCompletions
from infrastructure.observability.logging import configure_logging
from infrastructure.process_tuning import settle_heap
from infrastructure.settings import load_settings
from interfaces.accounting import frames
from interfaces.accounting.composition import Accounting, compose

log = structlog.get_logger("fluxrouter.accounting")


async def serve_batches(accounting: Accounting, reader: asyncio.StreamReader, answer: int) -> None:
    """Until the input closes: each frame handled, each batch answered in turn."""
    while True:
        try:
            head = await reader.readexactly(frames.HEADER.size)
        except asyncio.IncompleteReadError as error:
            if error.partial:
                raise frames.BadFrame("the input closed inside a frame header") from error
            return
        kind, length = frames.header(head)
        try:
            payload = await reader.readexactly(length) if length else b""
        except asyncio.IncompleteReadError as error:
            raise frames.BadFrame("the input closed inside a frame") from error
        if kind == frames.LIMITS_CHANGED:
            try:
                await accounting.limits.reload()
            except Exception:
                log.exception("accounting.limits_reload_failed")
            continue
        if kind == frames.RESPONSES:
            await _store(accounting, frames.responses(payload), answer)
            continue
        calls = frames.calls(payload)
        try:
            if kind == frames.REPLAYED:
                stored = await accounting.relay.stored([call.event_id for call in calls])
                calls = [call for call in calls if call.event_id not in stored]
            if calls:
                await accounting.bus.handle(RecordCompletions(completions=tuple(calls)))
        except Exception:
            log.exception("accounting.write_failed", events=len(calls))
            os.write(answer, frames.FAILED)
        else:
            os.write(answer, frames.WRITTEN)


async def _store(accounting: Accounting, command: StoreResponses, answer: int) -> None:
    """Responses `/v1/responses` stores, written in one transaction, answered as a batch is."""
    try:
        await accounting.bus.handle(command)
    except Exception:
        log.exception("accounting.responses_write_failed", responses=len(command.responses))
        os.write(answer, frames.FAILED)
    else:
        os.write(answer, frames.WRITTEN)


async def run() -> int:
    # the serving process's group gets the terminal's and the service manager's signals; this
    # one stops when its input closes, after the batch under way
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    answer = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # nothing else may write on the answers
    settings, _ = load_settings(os.environ.get("FLUXROUTER_CONFIG"))
    accounting = compose(settings)
    configure_logging(
        level=settings.logging.level, fmt=settings.logging.format, redact=accounting.redactor
    )
    await accounting.start()
    reader = asyncio.StreamReader(limit=2**20)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    settle_heap()
    try:
        os.write(answer, frames.READY)
        await serve_batches(accounting, reader, answer)
    except frames.BadFrame as error:
        log.error("accounting.bad_frame", reason=str(error))
        return 2
    except BrokenPipeError:
        # the serving process is gone (killed): what was written stays, and a batch it did not
        # hear about is replayed from its side only if it lives on, which it does not
        log.warning("accounting.serving_process_gone")
    finally:
        await accounting.stop()
    return 0


def main() -> None:
    import uvloop  # the serving process's loop too

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        code = runner.run(run())
    raise SystemExit(code)


if __name__ == "__main__":
    main()
