"""The checkpoint writer: every few seconds it looks at the head of the audit chain and, once a
checkpoint is due, signs one and stores it in the database and in the checkpoint directory.

Every gateway process runs one; they cooperate through the checkpoint lock and the rule that a
checkpoint is only stored above the newest one, so each seq is anchored once. A chain that no
longer holds is never signed: the writer logs where it is broken (once per finding) instead.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from application.audit.checkpoints import Cadence, CheckpointOutcome, make_checkpoint
from application.shared.tasks import cancel_and_wait
from domains.audit.checkpoint import Checkpoint, Finding
from domains.shared.clock import utcnow
from infrastructure.audit.checkpoint_files import CheckpointDirectory
from infrastructure.db.repositories.audit_checkpoints import SqlCheckpointLog
from infrastructure.security.audit_signing import SigningKey

log = structlog.get_logger("fluxrouter.audit")


class Checkpointer:
    def __init__(
        self,
        engine: AsyncEngine,
        key: SigningKey,
        directory: CheckpointDirectory,
        *,
        every_seconds: float,
        every_rows: int,
    ) -> None:
        self._log = SqlCheckpointLog(engine)
        self._key = key
        self.directory = directory
        self._cadence = Cadence(every_rows=every_rows, every_seconds=every_seconds)
        self._poll = min(max(every_seconds / 4, 0.2), 5.0)
        self._task: asyncio.Task[None] | None = None
        self._reported: Finding | None = None
        self._set_aside: Checkpoint | None = None

    async def checkpoint(self, *, when_due: bool = False) -> CheckpointOutcome:
        """Make a checkpoint of the head now (or, `when_due`, only if one is due)."""
        outcome = await make_checkpoint(
            self._log,
            self._key,
            self.directory,
            now=utcnow(),
            cadence=self._cadence if when_due else None,
        )
        if outcome.set_aside is not None and outcome.set_aside != self._set_aside:
            self._set_aside = outcome.set_aside
            log.warning(
                "audit.checkpoint_of_another_chain",
                seq=outcome.set_aside.seq,
                chain=outcome.set_aside.chain,
                note="the newest checkpoint kept for this chain names another chain: not used",
            )
        if outcome.made is not None:
            self._reported = None
            log.info(
                "audit.checkpoint",
                seq=outcome.made.seq,
                hash=outcome.made.hash,
                key_id=outcome.made.key_id,
                chain=outcome.made.chain,
            )
        elif outcome.broken is not None and outcome.broken != self._reported:
            self._reported = outcome.broken
            log.error(
                "audit.chain_broken",
                first_bad_seq=outcome.broken.seq,
                reason=outcome.broken.reason,
                note="no checkpoint is signed over a broken chain",
            )
        return outcome

    async def run(self) -> None:
        failing: str | None = None  # logged once until it changes or succeeds
        while True:
            try:
                await self.checkpoint(when_due=True)
                failing = None
            except Exception as error:
                if repr(error) != failing:
                    failing = repr(error)
                    log.exception("audit.checkpoint_failed")
            await asyncio.sleep(self._poll)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="audit-checkpoints")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
