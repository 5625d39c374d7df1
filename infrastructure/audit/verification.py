"""The online check of the audit log: the checkpoints of the database and of the checkpoint
directory together, signatures checked with the gateway's own key."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.audit.checkpoint import AnchoredCheck, Checkpoint, Finding
from infrastructure.audit.checkpoint_files import CheckpointDirectory, seq_of_file
from infrastructure.db.repositories.audit_checkpoints import stored_checkpoints
from infrastructure.read_models.audit_verify import verify_audit_log
from infrastructure.security.audit_signing import SigningKey

log = structlog.get_logger("fluxrouter.audit")


async def all_checkpoints(
    engine: AsyncEngine, directory: CheckpointDirectory
) -> tuple[list[Checkpoint], list[Finding]]:
    """The checkpoints in the database and in the directory; a directory file that cannot be
    read is a finding at the seq it is named after."""
    stored = await stored_checkpoints(engine)
    files, failed = await asyncio.to_thread(directory.read_all)
    findings: list[Finding] = []
    for path, why in failed:
        seq = seq_of_file(path)
        if seq is None:
            log.warning("audit.checkpoint_file_unreadable", file=str(path), reason=why)
        else:
            findings.append(Finding(seq, f"checkpoint file {path.name} cannot be read: {why}"))
    return stored + files, findings


async def verify_online(
    engine: AsyncEngine, key: SigningKey, directory: CheckpointDirectory, *, full: bool
) -> AnchoredCheck:
    checkpoints, findings = await all_checkpoints(engine, directory)
    return await verify_audit_log(engine, checkpoints, key.check, full=full, more=findings)
