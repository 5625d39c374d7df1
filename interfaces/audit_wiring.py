"""Wiring of the audit checkpoints: the signing key (generated at first start if absent), the
checkpoint directory and the writer that every gateway process runs."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.audit.checkpoint_files import CheckpointDirectory
from infrastructure.audit.checkpointer import Checkpointer
from infrastructure.security.audit_signing import (
    SigningKey,
    ensure_signing_key,
    key_file_too_open,
)
from infrastructure.settings import Settings

log = structlog.get_logger("fluxrouter.audit")


class SigningKeyError(Exception):
    """The signing key file cannot be read or created; the message names it."""


def load_signing_key(settings: Settings) -> tuple[SigningKey, bool]:
    """The audit signing key (True: generated just now)."""
    path = settings.audit.signing_key_file
    try:
        key, generated = ensure_signing_key(path)
    except (OSError, ValueError) as error:
        why = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise SigningKeyError(f"audit.signing_key_file {path}: {why}") from None
    if key_file_too_open(path):
        log.warning("audit.signing_key_file_readable_by_others", file=path, key_id=key.key_id)
    return key, generated


def checkpointer_for(settings: Settings, engine: AsyncEngine, key: SigningKey) -> Checkpointer:
    return Checkpointer(
        engine,
        key,
        CheckpointDirectory(settings.audit.checkpoint_dir),
        every_seconds=settings.audit.checkpoint_every_seconds,
        every_rows=settings.audit.checkpoint_every_rows,
    )


async def start_checkpoints(
    settings: Settings, engine: AsyncEngine, *, writer: bool = True
) -> tuple[SigningKey, Checkpointer]:
    """Loads the key and starts the checkpoint writer (unless checkpoint_every_seconds is 0, or
    `writer` is False: another process of this gateway writes them)."""
    key, generated = await asyncio.to_thread(load_signing_key, settings)
    if generated:
        log.info(
            "audit.signing_key_generated", file=settings.audit.signing_key_file, key_id=key.key_id
        )
    checkpointer = checkpointer_for(settings, engine, key)
    if writer and settings.audit.checkpoint_every_seconds > 0:
        checkpointer.start()
    return key, checkpointer
