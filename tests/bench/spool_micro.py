"""What the spool costs a request: its `started` record when the call goes upstream and its
`finished` record when it ends (one msgspec encoding, one CRC-32 and one `write` each), with the
journaled ticket and the call's id, against the same call recorded without a spool. The fsync
runs beside, every `accounting.spool_fsync_seconds`, in a thread; it is included here, as the
CPU the process spends, by syncing every 20 ms of the run.

Usage: ``python -m tests.bench.spool_micro [CALLS]`` (50,000 by default). Writes its files in a
temporary directory. The machine's other load shows in the figures: compare runs made one after
the other.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from application.providers.call import Call
from application.providers.journal import JournaledTicket
from domains.providers.admission import UNLIMITED
from domains.providers.model import ModelRoute
from domains.providers.ports import Usage
from domains.shared.caller import Caller
from domains.shared.ids import new_id
from infrastructure.spool.spool import FileSpool

CALLER = Caller(key_id="k" * 32, key_prefix="fr-abcd", team_id="t" * 32, org_id="o" * 32)
ROUTE = ModelRoute(provider="openai", kind="openai", name="gpt-4o-mini", upstream="gpt-4o-mini")
USAGE = Usage(input_tokens=120, output_tokens=300)


def without_spool(calls: int) -> float:
    started = time.process_time()
    for n in range(calls):
        call = Call(CALLER, f"req-{n}", ROUTE, "chat", stream=True)
        call.finished(200, "ok", USAGE)
    return time.process_time() - started


async def with_spool(calls: int, spool: FileSpool, *, sync: bool) -> float:
    """CPU seconds for `calls` journaled calls; `sync`: with an fsync every 20 ms of the run."""
    started = time.process_time()
    last_sync = time.monotonic()
    for n in range(calls):
        ticket = JournaledTicket(UNLIMITED, spool, new_id(), 120, 4096)
        call = Call(CALLER, f"req-{n}", ROUTE, "chat", stream=True, event_id=ticket.call_id)
        ticket.start(call)
        spool.finished(call.finished(200, "ok", USAGE))
        if sync and time.monotonic() - last_sync >= 0.02:
            await spool.sync()
            last_sync = time.monotonic()
    if sync:
        await spool.sync()
    return time.process_time() - started


async def main(calls: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        spool = FileSpool(Path(directory), segment_bytes=2**40)
        spool.open()
        without_spool(2000)  # warm up
        await with_spool(2000, spool, sync=False)
        bare = without_spool(calls)
        hot = await with_spool(calls, spool, sync=False)
        synced = await with_spool(calls, spool, sync=True)
        size = spool.size
        fsyncs = spool.counts.fsyncs
        await spool.close(settled=True)
    print(f"calls: {calls}")
    print(f"without spool: {bare / calls * 1e6:.2f} us CPU a call")
    print(f"the spool on the request's path: {(hot - bare) / calls * 1e6:.2f} us CPU a call")
    print(
        f"with the fsyncs beside ({fsyncs}, in a thread): "
        f"{(synced - bare) / calls * 1e6:.2f} us CPU a call"
    )
    print(f"{size / (2 * calls + 2000):.0f} bytes a call")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000))
