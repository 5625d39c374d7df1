"""The online check of the audit log: the checkpoints of the database and of this chain's part of
the checkpoint directory together, signatures checked with the gateway's own key.

The chain is named by its genesis row's hash. A checkpoint in the database that names another
chain means the chain was rewritten from its first row (a finding); one in the directory is
another database's, set aside with a note, as is a checkpoint that names no chain and does not
match this chain's row (`domains.audit.chain_binding`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from domains.audit.chain_binding import bind_to_chain, stored_for_another_chain
from domains.audit.checkpoint import AnchoredCheck, Checkpoint, Finding
from infrastructure.audit.checkpoint_files import CheckpointDirectory, seq_of_file
from infrastructure.db.repositories.audit_checkpoints import stored_checkpoints
from infrastructure.queries.audit_verify import genesis_hash, stored_hashes, verify_audit_log
from infrastructure.security.audit_signing import SigningKey

log = structlog.get_logger("fluxrouter.audit")


@dataclass(frozen=True, slots=True)
class ChainCheckpoints:
    chain: str | None
    """The hash of the genesis row (None: the log is empty)."""
    checkpoints: list[Checkpoint]
    """This chain's, from the database and the directory."""
    findings: list[Finding]
    """Unreadable checkpoint files, checkpoints stored for another chain."""
    notes: list[str]
    """Checkpoints set aside as another chain's."""


async def chain_checkpoints(
    engine: AsyncEngine, directory: CheckpointDirectory
) -> ChainCheckpoints:
    """The checkpoints of the chain in the database: those stored in it (all of them, when they
    name no chain) and those of the directory that belong to it; a directory file that cannot
    be read is a finding at the seq it is named after."""
    chain = await genesis_hash(engine)
    stored = await stored_checkpoints(engine)
    files, failed = await asyncio.to_thread(directory.read_all, chain)
    findings: list[Finding] = []
    for path, why in failed:
        seq = seq_of_file(path)
        if seq is None:
            log.warning("audit.checkpoint_file_unreadable", file=str(path), reason=why)
        else:
            findings.append(Finding(seq, f"checkpoint file {path.name} cannot be read: {why}"))
    own = [c for c in stored if chain is None or c.chain in (None, chain)]
    foreign = [c for c in stored if c not in own]
    if foreign and chain is not None:
        findings.append(stored_for_another_chain(foreign[0], chain))
    unnamed = [c.seq for c in files if c.chain is None]
    bound = bind_to_chain(files, chain, await stored_hashes(engine, unnamed))
    notes = list(bound.notes)
    others = await asyncio.to_thread(directory.other_chains, chain)
    if others:
        notes.append(
            f"the checkpoint directory also holds the checkpoints of {len(others)} other "
            f"chain(s), not read: {', '.join(others)}"
        )
    return ChainCheckpoints(chain, own + bound.own, findings, notes)


async def verify_online(
    engine: AsyncEngine, key: SigningKey, directory: CheckpointDirectory, *, full: bool
) -> AnchoredCheck:
    found = await chain_checkpoints(engine, directory)
    check = await verify_audit_log(
        engine, found.checkpoints, key.check, full=full, more=found.findings
    )
    return dataclasses.replace(check, chain=found.chain, notes=tuple(found.notes))
