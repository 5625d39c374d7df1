"""The pipeline admits no new request while the finished calls waiting to be written are at the
recorder's high water: the accounting sets the pace when it falls behind."""

from __future__ import annotations

import asyncio

from application.providers.completions.admit import CallAdmission
from application.providers.recorder import CompletionRecorder
from domains.providers.admission import UNLIMITED
from domains.providers.model import ModelRoute
from domains.shared.caller import Caller
from domains.shared.events import Command
from tests.unit.samples import completion

ROUTE = ModelRoute(provider="openai", kind="openai", name="gpt-4o-mini", upstream="gpt-4o-mini")
CALLER = Caller(key_id="k1", key_prefix="fr-abcdefgh", team_id="t1", org_id="o1")
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def test_admission_waits_while_the_accounting_is_behind() -> None:
    release = asyncio.Event()

    async def stalled(command: Command) -> None:
        await release.wait()

    recorder = CompletionRecorder(stalled, linger=0.0, high_water=2)
    admission = CallAdmission(recorder.room)
    recorder.start()
    try:
        assert await asyncio.wait_for(admission.admit(CALLER, ROUTE, BODY, "chat"), 1) is UNLIMITED
        recorder.record(completion(request_id="a"))
        recorder.record(completion(request_id="b"))
        admitting = asyncio.ensure_future(admission.admit(CALLER, ROUTE, BODY, "chat"))
        await asyncio.sleep(0.05)
        assert not admitting.done()
        release.set()
        assert await asyncio.wait_for(admitting, 5) is UNLIMITED
    finally:
        release.set()
        await recorder.stop()
